"""Up to how many keys does plain attention (products and softmax) beat SDPA's fused CPU kernel
in inference? The workflow's CPU attention (textclf.modeling: plain up to SHORT_KEYS keys, SDPA
above) against SDPA at every length, for several thresholds, in fp32 and bf16 (where native).

    .venv/bin/python bench/cpu_attention.py        # about 12 min on 2 cores; run it alone

The differences are a few per cent, less than this VM's drift between minutes, so the runs are
paired: each pair labels the same 512 WNUT-2020 texts (valid and test, drawn at random; sorted
by length in batches of 64, as predict runs them) with SDPA and with each threshold, one
right after the other in one process, in alternating order. Reported: the median of the pairs'
speed ratios (SDPA's seconds / the threshold's), its 95 % bootstrap interval, and in how many
pairs the threshold was faster. Results: bench/cpu_attention_results.json, then BENCHMARKS.md
(bench/report.py).
"""

from __future__ import annotations

import sys
import time

import common
import numpy as np
from common import REPO

sys.path.append(str(REPO / "scripts"))
DATA = REPO.parent / "shared" / "datasets" / "wnut2020_covid_informative"
MODEL = "all-MiniLM-L6-v2"
THRESHOLDS = {"bfloat16": [32, 48, 64, 96, 128], "float32": [48, 64, 96]}
PAIRS = {"bfloat16": 24, "float32": 16}
CHUNK = 512


def main() -> None:
    import torch

    from textclf import modeling
    from textclf.encoding import encode, predict_logits
    from textclf.labels import LabelSpace
    from textclf.tsv import read_tsv

    torch.set_num_threads(2)
    workflow = modeling.SHORT_KEYS
    texts = [t for split in ("valid", "test") for t in read_tsv(DATA / f"{split}.tsv")["text"]]
    model, tokenizer = modeling.load_classifier(MODEL, LabelSpace(("a", "b")), 42)
    model.eval()
    encoded = encode(tokenizer, texts, 128)
    rng = np.random.default_rng(42)
    results = {}
    for dtype, thresholds in THRESHOLDS.items():
        if dtype == "bfloat16" and not modeling.native_bf16(torch.device("cpu")):
            continue
        model.to(getattr(torch, dtype))

        def seconds(variant, chunk):
            if variant == "sdpa":
                model.set_attn_implementation("sdpa")
            else:
                modeling.SHORT_KEYS = variant
                modeling.use_cpu_attention(model)
            started = time.perf_counter()
            predict_logits(model, chunk, tokenizer.pad_token_id)
            return time.perf_counter() - started

        ratios = {n: [] for n in thresholds}
        for pair in range(PAIRS[dtype]):
            chunk = [encoded[i] for i in rng.choice(len(encoded), CHUNK, replace=False)]
            order = ["sdpa", *thresholds]
            timed = {v: seconds(v, chunk) for v in (order[::-1] if pair % 2 else order)}
            for n in thresholds:
                ratios[n].append(timed["sdpa"] / timed[n])
        results[dtype] = {str(n): summary(r, rng) for n, r in ratios.items()}
        print(dtype, results[dtype], flush=True)
    common.write_results(
        "cpu_attention",
        {
            "speed_vs_sdpa": results,
            "texts_per_pair": CHUNK,
            "model": MODEL,
            "workflow_threshold": workflow,
            "machine": common.machine(),
            "date": common.today(),
            "command": "bench/cpu_attention.py",
        },
    )


def summary(ratios: list[float], rng) -> dict:
    """Median of paired speed ratios, its 95 % bootstrap interval, pairs faster."""
    values = np.array(ratios)
    medians = [np.median(rng.choice(values, len(values))) for _ in range(2000)]
    return {
        "median": float(np.median(values)),
        "low": float(np.percentile(medians, 2.5)),
        "high": float(np.percentile(medians, 97.5)),
        "faster": int((values > 1).sum()),
        "pairs": len(values),
    }


if __name__ == "__main__":
    main()
