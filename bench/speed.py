"""The workflow's trainer and predictor against the Hugging Face Trainer and pipeline(), side by
side in one run on the same machine, data and settings; results into BENCHMARKS.md
(bench/report.py).

    .venv/bin/pip install accelerate==1.15.0         # the HF Trainer needs it (the workflow not)
    .venv/bin/snakemake --cores 2 all_experiments   # first: the demo, for the no-op dry run
    .venv/bin/python bench/speed.py                  # about 40 min on 2 cores; run it alone

Data: WNUT-2020 (../shared/datasets/wnut2020_covid_informative): train 7,000 rows, valid 1,000,
test 2,000 texts (labels held out). Model: the packaged all-MiniLM-L6-v2. Every measurement runs
in a process of its own (so its peak resident memory is its own), one after another:

- training, 1 epoch, batch 16, learning rate 5e-5, warm-up 10 %, weight decay 0.01, max length
  128, seed 42, all layers trained: the workflow's trainer in fp32 and with its default
  (`mixed_precision: auto`: bf16 autocast where the CPU has it natively; where it has not, the
  default is fp32 and that run is not repeated); the HF Trainer in its default configuration
  (texts tokenised per batch by the collator, random order, fp32) and in its best one
  (tokenised once, `group_by_length`, `bf16` where the CPU has it natively: emulated bf16 is
  slower than fp32). Samples/s is training rows / wall time of the whole training call (the
  workflow's includes its tokenising and one validation pass, so it is a lower bound); accuracy
  and macro-F1 on valid; McNemar's exact test on the valid rows against the workflow's fp32 run.
- inference on the 2,000 test texts with the model the workflow's default run trained: the
  workflow's predictor (its default precision, and fp32 where that differs), its ONNX and ONNX
  int8 exports, and `pipeline("text-classification")`: texts/s labelling the 2,000 texts in
  one call with batches of 64 (the pipeline batches them in file order; the workflow's
  predictors, as its predict step, sort them by length first), latency at batch 1 (ms per
  text, 100 texts), the predictions (compared with the pipeline's), accuracy on valid.
- torch.compile on the workflow's training loop (bf16 where native), eager against compiled.
- the machine's limit: a bare matrix product's GFLOP/s (fp32, bf16 where native, int8), against
  which every path's matrix-product GFLOP/s (the products its work needs, unpadded, per second
  of wall time) is reported as a share.
- a dry run of `all_experiments` (`snakemake -n`), a no-op when the demo is up to date.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import common
from common import REPO

import report

sys.path.insert(0, str(REPO / "scripts"))
DATA = REPO.parent / "shared" / "datasets" / "wnut2020_covid_informative"
WORK = REPO / "results" / "bench_speed"
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
SETTINGS = {
    "epochs": 1,
    "batch_size": 16,
    "learning_rate": 5e-5,
    "warmup": 0.1,
    "weight_decay": 0.01,
    "max_length": 128,
    "seed": 42,
    "unfreeze": "none",
    "patience": 1,
}
BATCH, LATENCY_TEXTS = 64, 100
TRAINING = ["workflow_fp32", "workflow_auto", "hf_default", "hf_best"]
INFERENCE = ["predict_fp32", "predict_auto", "onnx", "onnx_int8", "pipeline"]
PROBES = ["compile_eager", "compile_compiled"]  # does torch.compile pay back its compile time?
MACHINE = ["peak"]  # the matrix-product peak the paths are measured against
PROBE_STEPS = 150


def default_precision() -> str:
    """What `mixed_precision: auto` resolves to on this machine's CPU: bf16 or fp32. Where it
    is fp32, the `_auto` runs would repeat the `_fp32` ones and are skipped."""
    import torch

    from textclf.modeling import resolve_precision

    return resolve_precision("auto", torch.device("cpu"))


def model_folder() -> Path:
    """The model the workflow's default run trained (its precision decides inference's)."""
    return WORK / f"model_{default_precision()}"


def rows(split: str):
    from textclf.tsv import read_tsv

    return read_tsv(DATA / f"{split}.tsv")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def valid_scores(predicted: list[str]) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    gold = rows("valid")["label"].tolist()
    return {
        "accuracy": accuracy_score(gold, predicted),
        "f1_macro": f1_score(gold, predicted, average="macro"),
    }


# --- the machine's limit ---------------------------------------------------------------------


def peak(threads: int) -> dict:
    """GFLOP/s of a bare matrix product, `threads` threads, fp32 and bf16 (where the CPU has
    it natively), in MiniLM's feed-forward shape (a batch of 16 rows of 55 tokens: 880 x 384
    x 1536) and square 2048: the best of 5 timings of 10 products each; int8 (x int8 -> int32)
    in MiniLM's shape. By torch (MKL and oneDNN) and, for fp32 and int8, by ONNX Runtime (its
    own kernels, which can be faster: MKL takes its AVX2 kernels on AMD CPUs)."""
    import numpy as np
    import torch

    from textclf.modeling import native_bf16

    torch.set_num_threads(threads)
    dtypes = [torch.float32] + [torch.bfloat16] * native_bf16(torch.device("cpu"))
    out = {}
    for dtype in dtypes:
        for m, k, n in ((880, 384, 1536), (2048, 2048, 2048)):
            a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
            name = "fp32" if dtype == torch.float32 else "bf16"
            out[f"{name} {m}x{k}x{n}"] = 2 * m * k * n / best_seconds(lambda a=a, b=b: a @ b) / 1e9
    m, k, n = 880, 384, 1536  # int8 x int8 -> int32 (VNNI where the CPU has it)
    a = torch.randint(-128, 128, (m, k), dtype=torch.int8)
    b = torch.randint(-128, 128, (k, n), dtype=torch.int8)
    out[f"int8 {m}x{k}x{n}"] = 2 * m * k * n / best_seconds(lambda: torch._int_mm(a, b)) / 1e9
    for name, (a_type, b_type) in {"fp32": (np.float32,) * 2, "int8": (np.uint8, np.int8)}.items():
        run = onnxruntime_matmul(m, k, n, a_type, b_type, threads)
        out[f"{name} {m}x{k}x{n} onnxruntime"] = 2 * m * k * n / best_seconds(run) / 1e9
    return out


def best_seconds(product) -> float:
    """Seconds of one `product()`: the best of 5 timings of 10, after 3 not timed."""
    for _ in range(3):
        product()
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(10):
            product()
        best = min(best, (time.perf_counter() - started) / 10)
    return best


def onnxruntime_matmul(m: int, k: int, n: int, a_type, b_type, threads: int):
    """A function that runs one m x k by k x n product (the k x n a constant, as a Linear
    layer's weight) in ONNX Runtime: MatMul for floats, MatMulInteger for 8-bit integers."""
    import numpy as np
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    a = (rng.standard_normal((m, k)) * 50).clip(-128, 127).astype(a_type)
    weight = numpy_helper.from_array(
        (rng.standard_normal((k, n)) * 50).clip(-128, 127).astype(b_type), "w"
    )
    floats = a_type == np.float32
    node = helper.make_node("MatMul" if floats else "MatMulInteger", ["a", "w"], ["y"])
    graph = helper.make_graph(
        [node],
        "product",
        [helper.make_tensor_value_info("a", helper.np_dtype_to_tensor_dtype(a.dtype), [m, k])],
        [
            helper.make_tensor_value_info(
                "y", TensorProto.FLOAT if floats else TensorProto.INT32, [m, n]
            )
        ],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(model.SerializeToString(), options)
    return lambda: session.run(None, {"a": a})


def matmul_gflop(model, lengths: list[int]) -> float:
    """GFLOP of the matrix products of one forward pass over sequences of these lengths
    (unpadded): 2 x the encoder layers' linear weights per token, and attention's two
    products (4 x length^2 x hidden per layer); the pooler and head, once per text, are left
    out. A training step is 3 times that (forward, and backward's two products per one)."""
    import torch

    from textclf.modeling import encoder_layers

    layers = encoder_layers(model)
    weights = sum(m.weight.numel() for m in layers.modules() if isinstance(m, torch.nn.Linear))
    hidden = model.config.hidden_size
    return sum(2 * weights * n + 4 * n * n * hidden * len(layers) for n in lengths) / 1e9


def token_lengths(tokenizer, texts) -> list[int]:
    from textclf.encoding import encode

    return [len(ids) for ids in encode(tokenizer, texts, SETTINGS["max_length"])]


# --- training --------------------------------------------------------------------------------


def train_workflow(precision: str, threads: int) -> dict:
    from textclf.labels import LabelSpace
    from textclf.training import TrainSettings, new_classifier, save_checkpoint, train

    train_rows, valid_rows = rows("train"), rows("valid")
    space = LabelSpace(tuple(sorted(set(train_rows["label"]))))
    settings = TrainSettings(**SETTINGS, mixed_precision=precision)
    started = time.perf_counter()
    model, tokenizer = new_classifier(MODEL, space, settings, train_rows)
    model, history = train(model, tokenizer, train_rows, valid_rows, settings, threads)
    seconds = time.perf_counter() - started
    work = (
        3 * SETTINGS["epochs"] * matmul_gflop(model, token_lengths(tokenizer, train_rows["text"]))
    )
    folder = WORK / f"model_{history['precision'].iloc[-1]}"
    save_checkpoint(model, tokenizer, history, settings, folder, "stage1")
    from textclf.inference import Classifier

    classifier = Classifier(folder, threads, SETTINGS["max_length"])
    predicted = classifier.predict(valid_rows["text"])["predicted"].tolist()
    return {
        "samples_per_s": len(train_rows) / seconds,
        "seconds": seconds,
        "matmul_gflop": work,
        "precision": history["precision"].iloc[-1],
        "valid_predictions": predicted,
        **valid_scores(predicted),
    }


def train_hf(best: bool, threads: int) -> dict:
    import torch
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    from textclf.labels import LabelSpace
    from textclf.modeling import load_classifier, native_bf16

    bf16 = best and native_bf16(torch.device("cpu"))  # emulated bf16 is slower than fp32

    torch.set_num_threads(threads)
    train_rows, valid_rows = rows("train"), rows("valid")
    labels = sorted(set(train_rows["label"]))
    model, tokenizer = load_classifier(MODEL, LabelSpace(tuple(labels)), SETTINGS["seed"])
    label_id = {label: i for i, label in enumerate(labels)}
    max_length = SETTINGS["max_length"]

    class Tokenised(torch.utils.data.Dataset):  # tokenised once, as datasets.map would
        def __init__(self, frame):
            self.ids = tokenizer(frame["text"].tolist(), truncation=True, max_length=max_length)
            self.labels = [label_id[label] for label in frame["label"]]

        def __len__(self):
            return len(self.labels)

        def __getitem__(self, i):
            return {"input_ids": self.ids["input_ids"][i], "labels": self.labels[i]}

    class Texts(torch.utils.data.Dataset):  # tokenised per batch by the collator
        def __init__(self, frame):
            self.texts, self.labels = frame["text"].tolist(), frame["label"].tolist()

        def __len__(self):
            return len(self.texts)

        def __getitem__(self, i):
            return {"text": self.texts[i], "labels": label_id[self.labels[i]]}

    def tokenise_batch(items):
        batch = tokenizer(
            [item["text"] for item in items],
            truncation=True,
            max_length=max_length,
            padding=True,
            return_tensors="pt",
        )
        batch["labels"] = torch.tensor([item["labels"] for item in items])
        return batch

    arguments = TrainingArguments(
        output_dir=str(WORK / "hf"),
        per_device_train_batch_size=SETTINGS["batch_size"],
        per_device_eval_batch_size=BATCH,
        learning_rate=SETTINGS["learning_rate"],
        num_train_epochs=SETTINGS["epochs"],
        warmup_steps=SETTINGS["warmup"],
        weight_decay=SETTINGS["weight_decay"],
        seed=SETTINGS["seed"],
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        disable_tqdm=True,
        use_cpu=True,
        remove_unused_columns=False,
        train_sampling_strategy="group_by_length" if best else "random",
        bf16=bf16,
    )
    started = time.perf_counter()
    if best:
        train_set = Tokenised(train_rows)
        collator = DataCollatorWithPadding(tokenizer)
    else:
        train_set, collator = Texts(train_rows), tokenise_batch
    trainer = Trainer(
        model=model,
        args=arguments,
        train_dataset=train_set,
        data_collator=collator,
        processing_class=tokenizer,
    )
    trainer.train()
    seconds = time.perf_counter() - started
    # Scored with the workflow's own fp32 inference, in row order: transformers 5's
    # Trainer.predict samples the eval set length-grouped too when `train_sampling_strategy` is
    # group_by_length, and returns its predictions in that order, not the dataset's.
    from textclf.encoding import encode, predict_logits

    encoded = encode(tokenizer, valid_rows["text"], max_length)
    logits = predict_logits(trainer.model, encoded, tokenizer.pad_token_id)
    predicted = [labels[i] for i in logits.argmax(-1).tolist()]
    work = (
        3 * SETTINGS["epochs"] * matmul_gflop(model, token_lengths(tokenizer, train_rows["text"]))
    )
    return {
        "samples_per_s": len(train_rows) / seconds,
        "seconds": seconds,
        "matmul_gflop": work,
        "precision": "bf16" if bf16 else "fp32",
        "valid_predictions": predicted,
        **valid_scores(predicted),
    }


def compile_probe(compiled: bool, threads: int) -> dict:
    """PROBE_STEPS training steps of the workflow's loop (length-grouped WNUT-2020 batches of
    16; bf16 autocast where the CPU has it natively, else fp32; fused AdamW), eager as the
    workflow runs it (its CPU dropout masks, textclf.modeling.use_fast_dropout) or under
    `torch.compile(dynamic=True)` (torch's dropout, which Inductor generates itself): seconds
    of the first 10 steps (compilation included) and rows/s of the rest."""
    import torch

    from textclf.encoding import collate, encode, length_grouped_batches
    from textclf.labels import LabelSpace
    from textclf.modeling import load_classifier, native_bf16, use_fast_dropout
    from textclf.training import seed_everything

    torch.set_num_threads(threads)
    seed_everything(SETTINGS["seed"])
    train_rows = rows("train")
    space = LabelSpace(tuple(sorted(set(train_rows["label"]))))
    model, tokenizer = load_classifier(MODEL, space, SETTINGS["seed"])
    encoded = encode(tokenizer, train_rows["text"], SETTINGS["max_length"])
    targets = torch.tensor(space.targets(train_rows["label"]))
    generator = torch.Generator().manual_seed(SETTINGS["seed"])
    batches = length_grouped_batches([len(e) for e in encoded], 16, generator)[:PROBE_STEPS]
    optimizer = torch.optim.AdamW(model.parameters(), lr=SETTINGS["learning_rate"], fused=True)
    bf16 = native_bf16(torch.device("cpu"))
    if compiled:
        forward = torch.compile(model, dynamic=True)
    else:
        use_fast_dropout(model, SETTINGS["seed"])
        forward = model
    model.train()
    marks = [time.perf_counter()]
    for index in batches:
        batch = collate([encoded[i] for i in index], tokenizer.pad_token_id, "cpu")
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = forward(**batch).logits
        loss = torch.nn.functional.cross_entropy(logits.float(), targets[index])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        marks.append(time.perf_counter())
    rest = sum(len(b) for b in batches[10:])
    return {
        "first_10_steps_s": marks[10] - marks[0],
        "rows_per_s_after": rest / (marks[-1] - marks[10]),
        "total_s": marks[-1] - marks[0],
        "steps": len(batches),
        "precision": "bf16" if bf16 else "fp32",
    }


# --- inference -------------------------------------------------------------------------------


def timed(label, texts: list[str]) -> dict:
    """texts/s labelling all `texts` in one call (as the predict step labels a file; batches of
    BATCH inside), ms per text one at a time, and the predictions."""
    label(texts[: 2 * BATCH])  # warm-up
    started = time.perf_counter()
    predicted = label(texts)
    throughput = len(texts) / (time.perf_counter() - started)
    started = time.perf_counter()
    for text in texts[:LATENCY_TEXTS]:
        label([text])
    latency = 1000 * (time.perf_counter() - started) / LATENCY_TEXTS
    return {"texts_per_s": throughput, "latency_ms": latency, "predictions": predicted}


def infer(name: str, threads: int) -> dict:
    """One inference path on the test texts (timed) and on the valid texts (scored)."""
    import torch

    torch.set_num_threads(threads)
    texts, valid_texts = rows("test")["text"].tolist(), rows("valid")["text"].tolist()
    folder = model_folder()
    if name == "pipeline":
        from transformers import pipeline

        classify = pipeline("text-classification", model=str(folder), device="cpu")

        def label_batch(batch):
            return [r["label"] for r in classify(batch, batch_size=BATCH)]

        precision = "fp32"
    else:
        from textclf.registry import load_predictor

        if name.startswith("predict"):
            predictor = load_predictor(folder, threads, SETTINGS["max_length"])
            if name == "predict_fp32":  # loaded in bf16 where the CPU has it: back to fp32
                predictor.model.float()
                predictor.precision = "fp32"
        else:
            predictor = load_predictor(compressed(name, folder, threads), threads)
        precision = getattr(predictor, "precision", "int8" if "int8" in name else "fp32")

        def label_batch(batch):
            return predictor.predict(batch)["predicted"].tolist()

    result = timed(label_batch, texts)
    valid_predicted = label_batch(valid_texts)
    from textclf.modeling import load_classifier

    model, tokenizer = load_classifier(str(folder))
    work = matmul_gflop(model, token_lengths(tokenizer, texts))
    return {
        **result,
        "precision": precision,
        "matmul_gflop": work,
        **valid_scores(valid_predicted),
    }


def compressed(name: str, folder: Path, threads: int) -> Path:
    """The compressed copy `name` (a registry kind, `_` for `-`) of the model in `folder`."""
    from textclf.compression import run_compress_onnx

    kind = name.replace("_", "-")
    out = WORK / kind
    if not out.exists():
        run_compress_onnx(kind, folder, rows("valid"), SETTINGS, out, threads)
    return out


# --- the run ---------------------------------------------------------------------------------


def one(name: str, threads: int) -> dict:
    if name in TRAINING:
        if name.startswith("workflow"):
            result = train_workflow(name.split("_")[1].replace("fp32", "none"), threads)
        else:
            result = train_hf(name == "hf_best", threads)
    elif name in PROBES:
        result = compile_probe(name == "compile_compiled", threads)
    elif name in MACHINE:
        return peak(threads)
    else:
        result = infer(name, threads)
    return {**result, "peak_rss_mb": peak_rss_mb()}


def mcnemar(a: list, b: list, gold: list) -> float:
    """Exact McNemar p-value: are two classifiers' errors on the same rows different?"""
    from scipy.stats import binomtest

    only_a = sum(x == g != y for x, y, g in zip(a, b, gold, strict=True))
    only_b = sum(y == g != x for x, y, g in zip(a, b, gold, strict=True))
    if only_a + only_b == 0:
        return 1.0
    return binomtest(only_a, only_a + only_b, 0.5).pvalue


def best_of(command: list[str], times: int = 3, **kwargs) -> tuple[float, str]:
    """The fastest of `times` runs of `command` (the first also warms the file caches), in
    seconds, and the last run's output."""
    seconds = []
    for _ in range(times):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, **kwargs)
        seconds.append(time.perf_counter() - started)
        if done.returncode and command[0] != "scontrol":  # scontrol fails without a cluster
            sys.exit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return min(seconds), done.stdout + done.stderr


def dry_run() -> dict:
    """Seconds of `snakemake -n all_experiments` (a no-op when the demo's results are up to
    date), and what of it is Snakemake's own start: importing its command line (every installed
    plugin with it), and the `scontrol show config` that snakemake-executor-plugin-slurm runs
    on import wherever Slurm's client is installed (slow where a slurm.conf names a controller
    that is down)."""
    dry = [sys.executable, "-m", "snakemake", "-n", "all_experiments"]
    imports = [sys.executable, "-c", "import snakemake.cli"]
    seconds, output = best_of(dry, cwd=REPO)
    start, _ = best_of(imports)
    record = {"seconds": seconds, "no_op": "Nothing to be done" in output, "import_seconds": start}
    if shutil.which("scontrol"):
        record["scontrol_seconds"], _ = best_of(["scontrol", "show", "config"], times=1)
        # as on a machine without Slurm configured (an empty slurm.conf fails at once)
        quiet = {**os.environ, "SLURM_CONF": os.devnull}
        record["seconds_without_slurm_conf"], _ = best_of(dry, cwd=REPO, env=quiet)
        record["import_seconds_without_slurm_conf"], _ = best_of(imports, env=quiet)
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--only", nargs="*", help="rerun these (dry_run: only the dry run)")
    args = parser.parse_args()
    if args.one:
        print("RESULT " + json.dumps(one(args.one, args.threads)), flush=True)
        return
    WORK.mkdir(parents=True, exist_ok=True)
    fresh = {"runs": {}, "command": "bench/speed.py"}
    results = (common.read_results("speed") if args.only else {}) or fresh
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    todo = args.only or [
        name
        for name in MACHINE + TRAINING + INFERENCE + PROBES
        if name not in ("workflow_auto", "predict_fp32") or default_precision() != "fp32"
    ]
    for name in [name for name in todo if name != "dry_run"]:
        print(f"--- {name}", flush=True)
        run = subprocess.run(
            [sys.executable, __file__, "--one", name, "--threads", str(args.threads)],
            env=env,
            capture_output=True,
            text=True,
        )
        if run.returncode:
            sys.exit(f"{name} failed:\n{run.stderr[-3000:]}")
        results["runs"][name] = json.loads(run.stdout.split("RESULT ", 1)[1])
        common.write_results("speed", results, indent=None)
    runs = results["runs"]
    gold = rows("valid")["label"].tolist()
    results["mcnemar_vs_workflow_fp32"] = {
        name: mcnemar(runs["workflow_fp32"]["valid_predictions"], run["valid_predictions"], gold)
        for name, run in runs.items()
        if name in TRAINING and name != "workflow_fp32" and "workflow_fp32" in runs
    }
    results["dry_run"] = dry_run() | {"date": common.today()}
    if todo != ["dry_run"]:
        results["machine"] = common.machine()
        results["date"] = common.today()
    common.write_results("speed", results, indent=None)
    report.write()


if __name__ == "__main__":
    main()
