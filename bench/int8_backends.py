"""Which int8 backend for the `int8` kind? Texts/s of the packaged MiniLM at batch 64 on WNUT-2020
test texts: torch fp32, torch bf16 autocast, torchao dynamic int8 (eager, under torch.compile,
and its PT2E path: torch.export, X86InductorQuantizer with dynamic activations, Inductor with
freezing), ONNX Runtime fp32 and dynamic int8. torchao is not a dependency of the workflow;
run alone:

    .venv/bin/pip install torchao==0.18.0
    .venv/bin/python bench/int8_backends.py [trained model folder]

Results (with the machine) go to bench/int8_backends_results.json, from which
bench/report.py writes BENCHMARKS.md.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "bench"))
DATA = REPO.parent / "shared" / "datasets" / "wnut2020_covid_informative"
TEXTS = 512


def throughput(run, batches) -> float:
    run(batches[0])  # warm-up (and compilation)
    started = time.perf_counter()
    for batch in batches:
        run(batch)
    return sum(len(b["input_ids"]) for b in batches) / (time.perf_counter() - started)


def main() -> None:
    from textclf.compression import export_onnx, quantize_int8
    from textclf.encoding import collate, encode
    from textclf.modeling import load_classifier
    from textclf.tsv import read_tsv

    torch.set_num_threads(2)
    folder = sys.argv[1] if len(sys.argv) > 1 else "sentence-transformers/all-MiniLM-L6-v2"
    labels = None if len(sys.argv) > 1 else ["INFORMATIVE", "UNINFORMATIVE"]
    model, tokenizer = load_classifier(folder, labels)
    model.eval()
    texts = read_tsv(DATA / "test.tsv")["text"].tolist()[:TEXTS]
    encoded = sorted(encode(tokenizer, texts, 128), key=len)
    batches = [
        collate(encoded[i : i + 64], tokenizer.pad_token_id, "cpu")
        for i in range(0, len(encoded), 64)
    ]
    results = {}

    @torch.no_grad()
    def torch_run(batch, model=model):
        return model(**batch).logits

    results["torch fp32"] = throughput(torch_run, batches)

    @torch.no_grad()
    def bf16_run(batch):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return model(**batch).logits

    results["torch bf16 autocast"] = throughput(bf16_run, batches)
    try:
        import copy

        from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

        quantized = copy.deepcopy(model)
        quantize_(quantized, Int8DynamicActivationInt8WeightConfig())
        results["torchao int8 eager"] = throughput(lambda b: torch_run(b, quantized), batches)
        compiled = torch.compile(quantized, dynamic=True)
        started = time.perf_counter()
        results["torchao int8 compiled"] = throughput(lambda b: torch_run(b, compiled), batches)
        results["torchao compile + run seconds"] = time.perf_counter() - started
    except Exception as error:  # noqa: BLE001 - a measurement, reported as it failed
        results["torchao"] = f"failed: {type(error).__name__}: {error}"[:300]
    try:
        started = time.perf_counter()
        lowered = pt2e_int8(model, batches[0])
        results["torchao pt2e int8 (x86 inductor)"] = throughput(
            lambda b: torch_run(b, lowered), batches
        )
        results["torchao pt2e quantize + compile + run seconds"] = time.perf_counter() - started
    except Exception as error:  # noqa: BLE001 - a measurement, reported as it failed
        results["torchao pt2e"] = f"failed: {type(error).__name__}: {error}"[:300]
    import onnxruntime

    work = REPO / "results" / "bench_int8"
    work.mkdir(parents=True, exist_ok=True)
    export_onnx(model, tokenizer, work / "model.onnx")
    quantize_int8(work / "model.onnx", work / "model-int8.onnx")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    for name, path in (("onnxruntime fp32", "model.onnx"), ("onnxruntime int8", "model-int8.onnx")):
        session = onnxruntime.InferenceSession(str(work / path), options)
        inputs = [i.name for i in session.get_inputs()]
        results[name] = throughput(
            lambda b, s=session, n=inputs: s.run(None, {k: b[k].numpy() for k in n}), batches
        )
    record = {k: round(v, 1) if isinstance(v, float) else v for k, v in results.items()}
    print(json.dumps(record))
    import common

    common.write_results(
        "int8_backends",
        {
            "texts_per_s": record,
            "texts": TEXTS,
            "batch": 64,
            "threads": 2,
            "model": folder,
            "machine": common.machine(),
            "date": common.today(),
        },
    )


def pt2e_int8(model, batch):
    """torchao's PT2E int8 path for x86: export, X86InductorQuantizer (dynamic activations,
    int8 weights), convert, then torch.compile with Inductor's freezing to fuse the int8 ops."""
    import torch._inductor.config as inductor
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    from torchao.quantization.pt2e.quantizer import x86_inductor_quantizer as x86

    inductor.freezing = True
    quantizer = x86.X86InductorQuantizer().set_global(
        x86.get_default_x86_inductor_quantization_config(is_dynamic=True)
    )
    dims = {0: torch.export.Dim("batch"), 1: torch.export.Dim("sequence", max=512)}
    exported = torch.export.export(
        model, (), dict(batch), dynamic_shapes={k: dims for k in batch}
    ).module()
    prepared = prepare_pt2e(exported, quantizer)
    prepared(**batch)  # observers (dynamic: scales are computed per batch at run time)
    converted = convert_pt2e(prepared)
    return torch.compile(converted, dynamic=True)


if __name__ == "__main__":
    main()
