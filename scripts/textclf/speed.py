"""Rule `speed`: latency and throughput of every model of an experiment, measured one model
after another in one job on the same texts and threads, so the numbers compare (the evaluate
jobs run in parallel and cannot be compared on time).

The job takes every core Snakemake may use (rule `speed`), so no other job of the workflow
runs beside it. Latency is the mean time to label one text alone (batch 1, ms per text);
throughput is texts per second when texts arrive in batches of 64. Each model first labels the
same texts once untimed (warm-up: lazy initialisation, kernels built per input shape).
"""

from __future__ import annotations

import logging
import time

import pandas as pd

from textclf.machine import usable_cpus
from textclf.registry import load_predictor
from textclf.tsv import read_tsv, write_tsv

log = logging.getLogger(__name__)
BATCH = 64
LATENCY_TEXTS = 100  # texts labelled one at a time
THROUGHPUT_TEXTS = 2048  # texts labelled in batches of BATCH


def _timed(predictor, batches: list[list[str]]) -> float:
    started = time.perf_counter()
    for batch in batches:
        predictor.probabilities(batch)
    return time.perf_counter() - started


def measure(predictor, texts: list[str]) -> dict:
    """latency_ms (batch 1) and texts_per_second (batches of BATCH) of one model. Each is
    timed on a second pass over the same texts: the first pays one-off costs (kernels built
    for each new input shape, which the next model measured would otherwise inherit)."""
    single = [[text] for text in texts[:LATENCY_TEXTS]]
    batched = [texts[i : i + BATCH] for i in range(0, min(len(texts), THROUGHPUT_TEXTS), BATCH)]
    _timed(predictor, single + batched)  # warm-up
    latency = _timed(predictor, single) / len(single)
    throughput = sum(len(b) for b in batched) / _timed(predictor, batched)
    return {"latency_ms": round(1000 * latency, 3), "texts_per_second": round(throughput, 1)}


def run_speed(model_dirs: dict, valid_tsv, out_tsv, threads: int = 1, max_length: int = 128):
    """speed.tsv: one row per model, measured on the valid texts, with `threads` threads (at
    most the CPUs this process may use: more would only make the threads wait for each other)."""
    threads = min(threads, usable_cpus())
    texts = read_tsv(valid_tsv)["text"].tolist()
    rows = []
    for number, (model, folder) in enumerate(model_dirs.items(), 1):
        log.info("speed: timing %s (%d of %d models)", model, number, len(model_dirs))
        predictor = load_predictor(folder, threads, max_length)
        rows.append({"model": model, **measure(predictor, texts)})
        log.info("%s: %s", model, rows[-1])
        del predictor
    table = pd.DataFrame(rows).assign(threads=threads, texts=min(len(texts), THROUGHPUT_TEXTS))
    write_tsv(table, out_tsv)
