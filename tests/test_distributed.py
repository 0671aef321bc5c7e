"""Training on several processes (DistributedDataParallel over Gloo, 2 CPU processes here): the
batches dealt without losing or repeating rows, the loss of one process, rank 0 validating and
deciding, the ranks kept equal through progressive unfreezing, only rank 0 writing."""

import hashlib
import os
import subprocess
import sys

import pytest
import torch
from conftest import demo_rows, free_port

from textclf.distributed import Ranks, launch, processes
from textclf.encoding import length_grouped_batches
from textclf.labels import LabelSpace
from textclf.modeling import load_classifier
from textclf.training import TrainSettings, train

LABELS = LabelSpace(("INFORMATIVE", "UNINFORMATIVE"))
ROWS = 57  # batches of 8: the last global batch has one row, so rank 1 has none of it
SETTINGS = {
    "epochs": 6,
    "batch_size": 8,
    "learning_rate": 1e-3,
    "dropout": 0.0,
    "patience": 1,
    "unfreeze": "epoch",  # the head first, then one more layer each epoch, then embeddings
    "initial_layers": 0,
    "unfreeze_layers": 1,
    "unfreeze_every": 1,
}


def test_every_rank_gets_a_disjoint_share_and_together_all_rows(monkeypatch):
    lengths = [len(text) for text in demo_rows("train")["text"][:ROWS]]
    batches = length_grouped_batches(lengths, 8, torch.Generator().manual_seed(0))
    shares = {}
    for rank in (0, 1):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", "2")
        shares[rank] = [Ranks().share(batch) for batch in batches]
    for batch, (rows0, counts0), (rows1, counts1) in zip(
        batches, shares[0], shares[1], strict=True
    ):
        counted = [*(rows0 if counts0 else []), *(rows1 if counts1 else [])]
        assert sorted(counted) == sorted(batch)  # disjoint, and together the whole batch
    counted = [row for rank in (0, 1) for rows, counts in shares[rank] if counts for row in rows]
    assert sorted(counted) == list(range(ROWS))  # every row once per epoch
    (last,) = [i for i, batch in enumerate(batches) if len(batch) == 1]
    assert shares[1][last] == (batches[last], False)  # rank 1 joins that step at weight 0
    assert processes({"gpu": 4, "processes": 2}) == 4 and processes({"processes": 2}) == 2
    assert processes({}) == 1


def train_here(model_dir: str, threads: int = 1) -> dict:
    """One rank's training (or the single process's): its per-step losses, the epochs it ran
    and a digest of its final weights."""
    rows = demo_rows("train").head(ROWS), demo_rows("valid").head(40)
    model, tokenizer = load_classifier(model_dir, LABELS, 0)
    steps, weights = [], []

    def after_step(record):
        steps.append(record)
        weights.append(digest(model))

    model, history = train(
        model, tokenizer, *rows, TrainSettings(**SETTINGS), threads, step_callbacks=[after_step]
    )
    return {
        "rank": Ranks().rank,
        "losses": [step["train_loss"] for step in steps],
        "history": history.drop(columns=["seconds"]).to_dict("records"),
        "weights": [*weights, digest(model)],  # after every step, and as returned
    }


def digest(model) -> str:
    weights = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        weights.update(name.encode() + tensor.detach().cpu().numpy().tobytes())
    return weights.hexdigest()


@pytest.fixture(scope="module")
def one_and_two(tiny_bert):
    """The single-process run and the two ranks of the same training."""
    (single,) = launch(train_here, {"model_dir": str(tiny_bert)}, processes=1)
    return single, launch(train_here, {"model_dir": str(tiny_bert)}, processes=2)


def test_two_ranks_train_as_one_process_with_the_same_batch(one_and_two):
    single, (rank0, rank1) = one_and_two
    assert (rank0["rank"], rank1["rank"]) == (0, 1)
    steps = -(-ROWS // SETTINGS["batch_size"])
    first = single["losses"][: 2 * steps]  # the first two epochs' steps
    assert len(first) == 2 * steps
    assert rank0["losses"][: len(first)] == pytest.approx(first, abs=1e-4)
    assert rank1["losses"] == rank0["losses"]  # the loss of the whole batch, on both
    # rank 0 validated; both stopped early at the single process's epoch
    assert len(single["history"]) < SETTINGS["epochs"]
    assert rank0["history"] == rank1["history"]
    assert [r["epoch"] for r in rank0["history"]] == [r["epoch"] for r in single["history"]]
    assert [r["trainable"] for r in rank0["history"]] == [r["trainable"] for r in single["history"]]


def test_the_ranks_end_with_identical_weights_through_unfreezing(one_and_two):
    _, (rank0, rank1) = one_and_two
    assert rank0["history"][-1]["trainable"] != rank0["history"][0]["trainable"]
    assert rank0["weights"] == rank1["weights"]  # at every step, not only the best epoch's


@pytest.mark.workflow
def test_the_rules_and_commands_on_two_processes_write_one_model_and_a_log_per_rank(
    tmp_path, tiny_bert
):
    """The train rule with `processes: 2`, `python -m textclf train --processes 2`, and the
    command under two torchrun agents as two "nodes" meeting on 127.0.0.1: rank 0 writes a
    folder pipeline() loads, every rank logs."""
    from workflow.helpers import copy_workflow, snakemake

    workdir = copy_workflow(tmp_path, tiny_bert)
    # the target first: --set-resources takes every word after it
    snakemake(
        workdir, "-j2", "results/demo/checkpoints/stage1", "--set-resources", "train:processes=2"
    )
    out = workdir / "results/demo/checkpoints/stage1"
    check_saved(out, workdir / "results/demo/logs/train.log")

    textclf = [sys.executable, "-m", "textclf", "train", "--experiment", "demo"]
    out, log = workdir / "two_processes", workdir / "processes.log"
    subprocess.run(
        [*textclf, "--processes", "2", "--threads", "2", "--out", str(out), "--log-file", str(log)],
        cwd=workdir,
        check=True,
    )
    check_saved(out, log)

    port, out, log = free_port(), workdir / "two_nodes", workdir / "nodes.log"
    agents = [
        subprocess.Popen(
            [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2"]
            + ["--nproc-per-node", "1", "--node-rank", str(node), "--rdzv-backend", "c10d"]
            + ["--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", "two-nodes"]
            + [*textclf[1:], "--threads", "1", "--out", str(out), "--log-file", str(log)],
            cwd=workdir,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        for node in (0, 1)
    ]
    assert [agent.wait(timeout=900) for agent in agents] == [0, 0]
    check_saved(out, log)


def check_saved(folder, log):
    """One model, written by rank 0, that pipeline() loads; a log per rank."""
    from transformers import pipeline

    classify = pipeline("text-classification", model=str(folder), device="cpu")
    assert classify("Five new cases confirmed in the county")[0]["label"] in LABELS.labels
    assert not list(folder.parent.glob(f".{folder.name}.*"))  # no half-written copy
    rank0, rank1 = log.read_text(), log.with_name(f"{log.name}.rank1").read_text()
    assert "rank 0 INFO" in rank0 and "rank 1 INFO" in rank1 and "rank 1 " not in rank0
    assert "saved" in rank0 and "saved" not in rank1  # only rank 0 writes
