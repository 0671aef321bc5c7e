"""Which int8 backend for the `int8` kind? Texts/s of the packaged MiniLM at batch 64 on WNUT-2020
test texts: torch fp32, torch bf16 autocast, torchao dynamic int8 (eager, under torch.compile,
and its PT2E path: torch.export, X86InductorQuantizer with dynamic activations, Inductor with
freezing), ONNX Runtime fp32, dynamic int8 (the workflow's `onnx-int8`) and static int8 (QDQ,
activation scales calibrated on 512 training rows), with each int8 model's agreement with fp32
on the valid texts. torchao is not a dependency of the workflow; run alone:

    .venv/bin/pip install torchao==0.18.0
    .venv/bin/python bench/int8_backends.py [trained model folder]

Results (with the machine) go to bench/int8_backends_results.json, from which
bench/report.py writes BENCHMARKS.md.
"""

from __future__ import annotations

import copy
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
    from textclf.modeling import load_classifier, native_bf16
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
    if native_bf16(torch.device("cpu")):
        cast = copy.deepcopy(model).to(torch.bfloat16)  # the workflow's bf16 inference
        results["torch bf16 weights"] = throughput(lambda b: torch_run(b, cast), batches)
    try:
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
    calibration = encode(
        tokenizer, read_tsv(DATA / "train.tsv")["text"].sample(512, random_state=0), 128
    )
    quantize_static_int8(
        work / "model.onnx", work / "model-int8-static.onnx", calibration, tokenizer
    )
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    valid = sorted(encode(tokenizer, read_tsv(DATA / "valid.tsv")["text"], 128), key=len)
    valid_batches = [
        collate(valid[i : i + 64], tokenizer.pad_token_id, "cpu") for i in range(0, len(valid), 64)
    ]
    predictions = {}
    for name, path in (
        ("onnxruntime fp32", "model.onnx"),
        ("onnxruntime int8 dynamic", "model-int8.onnx"),
        ("onnxruntime int8 static", "model-int8-static.onnx"),
    ):
        session = onnxruntime.InferenceSession(str(work / path), options)
        inputs = [i.name for i in session.get_inputs()]

        def run(batch, s=session, n=inputs):
            return s.run(None, {k: batch[k].numpy() for k in n})[0]

        results[name] = throughput(run, batches)
        predictions[name] = [int(i) for b in valid_batches for i in run(b).argmax(-1)]
    for name in ("onnxruntime int8 dynamic", "onnxruntime int8 static"):
        same = [
            a == b for a, b in zip(predictions[name], predictions["onnxruntime fp32"], strict=True)
        ]
        results[f"{name}: valid predictions as fp32's (%)"] = 100 * sum(same) / len(same)
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


def quantize_static_int8(source, target, calibration, tokenizer) -> None:
    """ONNX Runtime's static int8 (QDQ; the MatMuls with int8 weights per output channel, uint8
    activations with fixed scales from min-max calibration on `calibration`, batches of 32).
    Static quantization has no int8 attention: the fused Attention stays fp32."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    from textclf.encoding import collate

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter(
                {
                    k: v.numpy()
                    for k, v in collate(
                        calibration[i : i + 32], tokenizer.pad_token_id, "cpu"
                    ).items()
                }
                for i in range(0, len(calibration), 32)
            )

        def get_next(self):
            return next(self.batches, None)

    quantize_static(
        str(source),
        str(target),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul"],
        extra_options={"MatMulConstBOnly": True},
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
