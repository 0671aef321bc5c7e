"""Where a bf16 training step and a bf16 inference batch of the packaged MiniLM spend their time
on this CPU, and what each candidate change does to it, measured alone (issue 25).

    .venv/bin/python bench/profile_step.py                 # every variant, about 15 min
    .venv/bin/python bench/profile_step.py --only train_base train_attn_dropout0

Batches: WNUT-2020 training rows, length-grouped as the workflow draws them (batch 16, seed
42), the same batches for every variant; inference on the valid texts sorted by length in
batches of 64, as the predict step runs them. Each variant runs in a process of its own: WARM
steps first (not timed; a compiled variant compiles there, and its compile seconds are
reported), then STEPS timed ones. Rows/s and the matrix products' GFLOP/s (forward 2 x
parameters of the linear layers x tokens, backward twice that; attention's products added)
go to bench/profile_step_results.json; `--table` prints torch.profiler's operator table of
the variant (the share of time in matrix products vs the rest).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import common
from common import REPO

sys.path.insert(0, str(REPO / "scripts"))
DATA = REPO.parent / "shared" / "datasets" / "wnut2020_covid_informative"
MODEL = "all-MiniLM-L6-v2"
WARM, STEPS = 10, 60
INFER_BATCHES = 12

TRAIN = {
    "train_base": "the workflow's step today: bf16 autocast, dropout 0.1, deterministic "
    "algorithms, fused AdamW, gradient clipping",
    "train_nondeterministic": "base without torch.use_deterministic_algorithms",
    "train_nofill": "base without filling new tensors with NaN (deterministic algorithms kept)",
    "train_attn_dropout0": "base with attention-probability dropout 0 (SDPA's fused kernel)",
    "train_dropout0": "base with every dropout 0",
    "train_dropout0_math": "every dropout 0, SDPA's math kernel (not the fused one)",
    "train_noclip": "base without gradient clipping",
    "train_compiled": "base under torch.compile (Inductor)",
    "train_compiled_attn_dropout0": "attention dropout 0 and torch.compile",
    "train_fp32": "base in fp32 (no autocast)",
}
INFER = {
    "infer_autocast": "predict today: fp32 weights under bf16 autocast",
    "infer_bf16_weights": "the model cast to bf16 once, no autocast",
    "infer_compiled": "bf16 weights under torch.compile",
    "infer_fp32": "fp32",
    "infer_autocast_math": "autocast, SDPA's math kernel",
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


def matmul_flops(model, tokens: int, width: int, rows: int) -> float:
    """Forward FLOPs of the matrix products for `rows` sequences padded to `width`."""
    import torch

    linear = sum(
        m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear)
    )
    config = model.config
    attention = 4 * rows * width * width * config.hidden_size * config.num_hidden_layers
    return 2 * linear * tokens + attention


def train_variant(name: str, threads: int, table: bool) -> dict:
    import torch
    from torch.nn import functional as F

    from textclf.encoding import collate
    from textclf.modeling import set_dropout
    from textclf.training import _param_groups, seed_everything

    torch.set_num_threads(threads)
    model, tokenizer, encoded, targets, batches = load()
    seed_everything(42)
    if name == "train_nondeterministic":
        torch.use_deterministic_algorithms(False)
    if name == "train_nofill":
        torch.utils.deterministic.fill_uninitialized_memory = False
    if "attn_dropout0" in name:
        for layer in model.modules():
            if type(layer).__name__.endswith("SelfAttention"):  # SDPA's dropout_p
                layer.dropout.p = 0.0
    if name.startswith("train_dropout0"):
        set_dropout(model, 0.0)
    dtype = None if name == "train_fp32" else torch.bfloat16
    optimizer = torch.optim.AdamW(_param_groups(model, 0.01), lr=5e-5, fused=True)
    network = torch.compile(model, dynamic=True) if "compiled" in name else model
    network.train()
    pad = tokenizer.pad_token_id
    chosen = batches[: WARM + STEPS]
    prepared = [collate([encoded[i] for i in b], pad, "cpu") for b in chosen]

    from torch.nn.attention import SDPBackend, sdpa_kernel

    backends = [SDPBackend.MATH] if name.endswith("_math") else [SDPBackend.FLASH_ATTENTION, SDPBackend.MATH]

    def step(batch, index):
        with (
            torch.autocast("cpu", dtype=dtype, enabled=dtype is not None),
            sdpa_kernel(backends),
        ):
            logits = network(**batch).logits
            loss = F.cross_entropy(logits.float(), targets[index], reduction="sum")
        (loss / len(index)).backward()
        if name != "train_noclip":
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    started = time.perf_counter()
    for batch, index in zip(prepared[:WARM], chosen[:WARM], strict=True):
        step(batch, index)
    warm_seconds = time.perf_counter() - started
    timed = list(zip(prepared[WARM:], chosen[WARM:], strict=True))
    started = time.perf_counter()
    for batch, index in timed:
        step(batch, index)
    seconds = time.perf_counter() - started
    rows = sum(len(i) for _, i in timed)
    flops = 3 * sum(
        matmul_flops(model, int(b["attention_mask"].sum()), b["input_ids"].shape[1], len(i))
        for b, i in timed
    )
    result = {
        "rows_per_s": rows / seconds,
        "ms_per_step": 1000 * seconds / len(timed),
        "gflops": flops / seconds / 1e9,
        "warm_seconds": warm_seconds,
        "padded_tokens_per_row": sum(b["input_ids"].numel() for b, _ in timed) / rows,
    }
    if table:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for batch, index in timed[:20]:
                step(batch, index)
        result["table"] = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=30)
    return result


def infer_variant(name: str, threads: int, table: bool) -> dict:
    import torch

    from textclf.encoding import collate, encode
    from textclf.tsv import read_tsv

    torch.set_num_threads(threads)
    model, tokenizer, _, _, _ = load()
    model.eval()
    texts = read_tsv(DATA / "valid.tsv")["text"]
    encoded = sorted(encode(tokenizer, texts, 128), key=len)
    pad = tokenizer.pad_token_id
    batches = [collate(encoded[s : s + 64], pad, "cpu") for s in range(0, len(encoded), 64)]
    dtype = torch.bfloat16 if name.startswith("infer_autocast") else None
    if name in ("infer_bf16_weights", "infer_compiled"):
        model.to(torch.bfloat16)
    network = torch.compile(model, dynamic=True) if name == "infer_compiled" else model

    from torch.nn.attention import SDPBackend, sdpa_kernel

    backends = [SDPBackend.MATH]
    if not name.endswith("_math"):
        backends.append(SDPBackend.FLASH_ATTENTION)

    @torch.no_grad()
    def run(batch):
        with (
            torch.autocast("cpu", dtype=dtype, enabled=dtype is not None),
            sdpa_kernel(backends),
        ):
            return network(**batch).logits.float()

    started = time.perf_counter()
    for batch in batches[:3]:
        run(batch)
    warm_seconds = time.perf_counter() - started
    started = time.perf_counter()
    logits = torch.cat([run(batch) for batch in batches])
    seconds = time.perf_counter() - started
    flops = sum(
        matmul_flops(model, int(b["attention_mask"].sum()), b["input_ids"].shape[1], 64)
        for b in batches
    )
    result = {
        "texts_per_s": len(encoded) / seconds,
        "gflops": flops / seconds / 1e9,
        "warm_seconds": warm_seconds,
        "predicted": logits.argmax(-1).tolist(),
    }
    if table:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for batch in batches[-INFER_BATCHES:]:
                run(batch)
        result["table"] = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=30)
    return result


def peak(threads: int) -> dict:
    """GFLOP/s of a bare matrix product in fp32 and bf16, square 2048 and MiniLM's
    feed-forward shape (880 x 384 x 1536), best of 5."""
    import torch

    torch.set_num_threads(threads)
    out = {}
    for dtype in (torch.float32, torch.bfloat16):
        for shape in ((2048, 2048, 2048), (880, 384, 1536)):
            m, k, n = shape
            a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
            for _ in range(3):
                a @ b
            best = float("inf")
            for _ in range(5):
                started = time.perf_counter()
                for _ in range(10):
                    a @ b
                best = min(best, (time.perf_counter() - started) / 10)
            out[f"{str(dtype).split('.')[1]} {m}x{k}x{n}"] = 2 * m * k * n / best / 1e9
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--table", action="store_true", help="torch.profiler's operator table")
    args = parser.parse_args()
    if args.one:
        if args.one == "peak":
            result = peak(args.threads)
        elif args.one in TRAIN:
            result = train_variant(args.one, args.threads, args.table)
        else:
            result = infer_variant(args.one, args.threads, args.table)
        print("RESULT " + json.dumps(result), flush=True)
        return
    results = common.read_results("profile_step") or {"runs": {}}
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    for name in args.only or ["peak", *TRAIN, *INFER]:
        command = [sys.executable, __file__, "--one", name, "--threads", str(args.threads)]
        run = subprocess.run(
            command + (["--table"] if args.table else []),
            env=env,
            capture_output=True,
            text=True,
        )
        if run.returncode:
            sys.exit(f"{name} failed:\n{run.stderr[-3000:]}")
        result = json.loads(run.stdout.split("RESULT ", 1)[1])
        if "table" in result:
            print(result.pop("table"))
        shown = {k: round(v, 2) for k, v in result.items() if isinstance(v, float)}
        print(name, json.dumps(shown), flush=True)
        results["runs"][name] = result
    results["machine"], results["date"] = common.machine(), common.today()
    common.write_results("profile_step", results, indent=None)


if __name__ == "__main__":
    main()
