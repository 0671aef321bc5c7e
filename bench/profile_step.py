"""Where a bf16 training step and a bf16 inference batch of the packaged MiniLM spend their time
on this CPU, and what each candidate change does to it, each change measured alone (issue 25).

    .venv/bin/python bench/profile_step.py                  # every variant, 3 rounds, ~25 min
    .venv/bin/python bench/profile_step.py --rounds 1 --only train_before train_workflow

Batches: WNUT-2020 training rows, length-grouped as the workflow draws them (batch 16, seed
42), the same batches for every variant; inference on the 999 valid texts sorted by length in
batches of 64, as the predict step runs them. Each variant runs in a process of its own: WARM
steps first (not timed; a compiled variant compiles there: `warm_seconds`), then STEPS timed
ones. The variants run one after another in each of `--rounds` rounds, so a drift of the
machine's speed (a shared host) touches all of them; the median over rounds is reported.
Matrix-product GFLOP/s: bench/speed.py's count (the unpadded tokens' products, a training row 3x
its forward pass). The `_before` and `_workflow` variants also record torch.profiler's operator
shares (self CPU time) of 20 steps or 12 batches. Results: bench/profile_step_results.json, then
BENCHMARKS.md (bench/report.py). Run it alone.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import common
from common import REPO

sys.path.append(str(REPO / "scripts"))  # after bench/: bench/speed.py, not scripts/speed.py
DATA = REPO.parent / "shared" / "datasets" / "wnut2020_covid_informative"
MODEL = "all-MiniLM-L6-v2"
WARM, STEPS, PROFILED = 10, 60, 20

TRAIN = {
    "train_before": "the step before issue 25: bf16 autocast, torch's dropout, deterministic "
    "algorithms filling new tensors with NaN, fused AdamW, gradient clipping",
    "train_workflow": "the workflow's step now: numpy dropout masks, no NaN filling",
    "train_fast_dropout": "before, with numpy dropout masks only",
    "train_nofill": "before, without NaN filling only",
    "train_nondeterministic": "before, without deterministic algorithms",
    "train_attention_dropout0": "before, attention dropout 0 (SDPA's fused CPU kernel)",
    "train_dropout0_math": "before, every dropout 0, SDPA's math kernel: dropout's full cost",
    "train_noclip": "before, without gradient clipping",
    "train_compiled": "before, under torch.compile(dynamic=True)",
    "train_fp32": "before, in fp32",
}
INFER = {
    "infer_before": "predict before issue 25: fp32 weights under bf16 autocast",
    "infer_sdpa": "the weights cast to bf16 once, SDPA's fused attention at every length",
    "infer_workflow": "predict now (modeling.for_cpu_inference): the weights cast to bf16 once, "
    "plain attention up to 64 keys, SDPA's above",
    "infer_sdpa_math": "bf16 weights, SDPA's math kernel instead of the fused one",
    "infer_compiled": "bf16 weights under torch.compile(dynamic=True)",
    "infer_fp32": "fp32, SDPA's attention at every length",
    "infer_fp32_workflow": "fp32 as predict runs it where the CPU lacks bf16: plain attention up "
    "to 64 keys",
}


def load(seed: int = 42):
    import torch

    from textclf.encoding import encode, length_grouped_batches
    from textclf.labels import LabelSpace
    from textclf.modeling import load_classifier
    from textclf.tsv import read_tsv

    train = read_tsv(DATA / "train.tsv")
    space = LabelSpace(tuple(sorted(set(train["label"]))))
    model, tokenizer = load_classifier(MODEL, space, seed)
    encoded = encode(tokenizer, train["text"], 128)
    targets = torch.tensor(space.targets(train["label"]))
    generator = torch.Generator().manual_seed(seed)
    batches = length_grouped_batches([len(e) for e in encoded], 16, generator)
    return model, tokenizer, encoded, targets, batches


def operator_shares(prof, top: int = 12) -> list[dict]:
    """The operators with the most self CPU time and their share of it."""
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    ranked = sorted(events, key=lambda e: -e.self_cpu_time_total)[:top]
    return [
        {"name": e.key, "share": e.self_cpu_time_total / total, "calls": e.count} for e in ranked
    ]


def train_variant(name: str, threads: int) -> dict:
    import torch
    from speed import matmul_gflop
    from torch.nn import functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from textclf.encoding import collate
    from textclf.modeling import set_dropout, use_fast_dropout
    from textclf.training import _param_groups, seed_everything

    torch.set_num_threads(threads)
    model, tokenizer, encoded, targets, batches = load()
    seed_everything(42)  # the workflow's: no NaN filling
    before = name != "train_workflow"
    torch.utils.deterministic.fill_uninitialized_memory = before and name != "train_nofill"
    if name == "train_nondeterministic":
        torch.use_deterministic_algorithms(False)
    if name in ("train_workflow", "train_fast_dropout"):
        use_fast_dropout(model, 42)
    if name == "train_attention_dropout0":
        for layer in model.modules():
            if type(layer).__name__.endswith("SelfAttention"):  # SDPA's dropout_p
                layer.dropout.p = 0.0
    backends = [SDPBackend.MATH]
    if name == "train_dropout0_math":
        set_dropout(model, 0.0)
    else:
        backends.append(SDPBackend.FLASH_ATTENTION)
    dtype = None if name == "train_fp32" else torch.bfloat16
    optimizer = torch.optim.AdamW(_param_groups(model, 0.01), lr=5e-5, fused=True)
    network = torch.compile(model, dynamic=True) if name == "train_compiled" else model
    network.train()
    chosen = batches[: WARM + STEPS]
    prepared = [collate([encoded[i] for i in b], tokenizer.pad_token_id, "cpu") for b in chosen]

    def step(batch, index):
        with torch.autocast("cpu", dtype=dtype, enabled=dtype is not None), sdpa_kernel(backends):
            logits = network(**batch).logits
            loss = F.cross_entropy(logits.float(), targets[index], reduction="sum")
        (loss / len(index)).backward()
        if name != "train_noclip":
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    pairs = list(zip(prepared, chosen, strict=True))
    started = time.perf_counter()
    for batch, index in pairs[:WARM]:
        step(batch, index)
    warm_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for batch, index in pairs[WARM:]:
        step(batch, index)
    seconds = time.perf_counter() - started
    rows = sum(len(index) for _, index in pairs[WARM:])
    lengths = [len(encoded[i]) for _, index in pairs[WARM:] for i in index]
    result = {
        "rows_per_s": rows / seconds,
        "gflops": 3 * matmul_gflop(model, lengths) / seconds,
        "warm_seconds": warm_seconds,
    }
    if name in ("train_before", "train_workflow"):
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for batch, index in pairs[WARM : WARM + PROFILED]:
                step(batch, index)
        result["operators"] = operator_shares(prof)
    return result


def infer_variant(name: str, threads: int) -> dict:
    import torch
    from speed import matmul_gflop
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from textclf.encoding import collate, encode
    from textclf.modeling import for_cpu_inference
    from textclf.tsv import read_tsv

    torch.set_num_threads(threads)
    model, tokenizer, _, _, _ = load()
    model.eval()
    encoded = sorted(encode(tokenizer, read_tsv(DATA / "valid.tsv")["text"], 128), key=len)
    pad = tokenizer.pad_token_id
    batches = [collate(encoded[s : s + 64], pad, "cpu") for s in range(0, len(encoded), 64)]
    dtype = torch.bfloat16 if name == "infer_before" else None
    if name in ("infer_workflow", "infer_fp32_workflow"):
        for_cpu_inference(model, None if "fp32" in name else torch.bfloat16)
    elif name.startswith(("infer_sdpa", "infer_compiled")):
        model.to(torch.bfloat16)
    network = torch.compile(model, dynamic=True) if name == "infer_compiled" else model
    backends = [SDPBackend.MATH]
    if not name.endswith("_math"):
        backends.append(SDPBackend.FLASH_ATTENTION)

    @torch.no_grad()
    def run(batch):
        with torch.autocast("cpu", dtype=dtype, enabled=dtype is not None), sdpa_kernel(backends):
            return network(**batch).logits.float()

    started = time.perf_counter()
    for batch in batches[:3]:
        run(batch)
    warm_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for batch in batches:
        run(batch)
    seconds = time.perf_counter() - started
    result = {
        "texts_per_s": len(encoded) / seconds,
        "gflops": matmul_gflop(model, [len(e) for e in encoded]) / seconds,
        "warm_seconds": warm_seconds,
    }
    if name in ("infer_before", "infer_sdpa", "infer_workflow"):
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for batch in batches[-12:]:
                run(batch)
        result["operators"] = operator_shares(prof)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=[*TRAIN, *INFER])
    args = parser.parse_args()
    if args.one:
        variant = train_variant if args.one in TRAIN else infer_variant
        print("RESULT " + json.dumps(variant(args.one, args.threads)), flush=True)
        return
    names = args.only or [*TRAIN, *INFER]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    measured: dict[str, list[dict]] = {name: [] for name in names}
    for round_ in range(1, args.rounds + 1):
        for name in names:
            command = [sys.executable, __file__, "--one", name, "--threads", str(args.threads)]
            run = subprocess.run(command, env=env, capture_output=True, text=True)
            if run.returncode:
                sys.exit(f"{name} failed:\n{run.stderr[-3000:]}")
            result = json.loads(run.stdout.split("RESULT ", 1)[1])
            measured[name].append(result)
            rate = result.get("rows_per_s") or result["texts_per_s"]
            print(f"round {round_} {name}: {rate:.1f}/s", flush=True)
    results = common.read_results("profile_step") or {"runs": {}}

    def median_rate(name: str) -> float:
        rate = "rows_per_s" if name in TRAIN else "texts_per_s"
        return statistics.median(r[rate] for r in measured[name])

    for name, runs in measured.items():
        rate = "rows_per_s" if name in TRAIN else "texts_per_s"
        rates = [r[rate] for r in runs]
        before = "train_before" if name in TRAIN else "infer_before"
        results["runs"][name] = {
            "what": {**TRAIN, **INFER}[name],
            rate: statistics.median(rates),
            "range": [min(rates), max(rates)],
            "rounds": len(rates),
            # against the `before` of the same rounds only: the machine drifts between them
            "vs_before": median_rate(name) / median_rate(before) if before in measured else None,
            "gflops": statistics.median(r["gflops"] for r in runs),
            "warm_seconds": statistics.median(r["warm_seconds"] for r in runs),
            **({"operators": runs[-1]["operators"]} if "operators" in runs[-1] else {}),
        }
    results |= {"machine": common.machine(), "date": common.today()}
    results["command"] = "bench/profile_step.py [--rounds N] [--only VARIANT ...]"
    common.write_results("profile_step", results, indent=None)


if __name__ == "__main__":
    main()
