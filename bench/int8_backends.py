"""Which int8 backend for the `int8` kind? Texts/s of the packaged MiniLM at batch 64 on WNUT-2020
test texts: torch fp32, torch bf16 autocast, torchao dynamic int8 (eager, and under
torch.compile), ONNX Runtime fp32 and dynamic int8. Run alone:

    .venv/bin/python bench/int8_backends.py [trained model folder]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
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
    print(json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in results.items()}))


if __name__ == "__main__":
    main()
