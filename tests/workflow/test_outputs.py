"""What the demo wrote: every output's columns and rows, both experiments at once."""

import json
import os
import re

import pandas as pd
import pytest
import yaml

from textclf.mining import HARD_COLUMNS
from textclf.tsv import read_tsv
from workflow.helpers import AUGMENT_ROWS, snakemake

pytestmark = pytest.mark.workflow


def test_every_output_has_its_columns_and_rows(workflow):
    out = workflow / "results" / "demo"
    for split, n in {"train": 360, "valid": 120, "test": 120}.items():
        table = read_tsv(out / "data" / f"{split}.tsv")
        assert table.columns.tolist() == ["id", "text", "label"]
        assert len(table) == n
    train = read_tsv(out / "data" / "train.tsv")
    for stage in ("stage1", "finetuned"):
        folder = out / "checkpoints" / stage
        assert {"config.json", "model.safetensors", "history.tsv"} <= {
            p.name for p in folder.iterdir()
        }
    history = read_tsv(out / "checkpoints" / "stage1" / "history.tsv")
    assert history["epoch"].tolist() == ["1", "2"]
    assert {"train_loss", "valid_loss", "valid_accuracy", "valid_f1_macro", "trainable"} <= set(
        history
    )

    augmented = read_tsv(out / "augment" / "augmented.tsv")
    assert augmented.columns.tolist() == ["id", "source_id", "text", "label"]
    assert 0 < len(augmented) <= AUGMENT_ROWS
    source_label = dict(zip(train["id"], train["label"], strict=True))
    assert augmented["source_id"].map(source_label).tolist() == augmented["label"].tolist()
    stats = yaml.safe_load((out / "augment" / "stats.json").read_text())
    assert stats["requested"] == AUGMENT_ROWS and stats["kept"] == len(augmented)
    journal = (out / "augment" / "journal.jsonl").read_text().splitlines()
    assert len(journal) == stats["sent"] == AUGMENT_ROWS
    assert (os.stat(out / "augment" / "augmented.tsv").st_mode & 0o222) == 0

    hard = read_tsv(out / "mine" / "misclassified.tsv")
    assert hard.columns.tolist() == HARD_COLUMNS
    assert set(hard["id"]) <= set(augmented["id"])
    assert (hard["predicted"] != hard["label"]).all() and (hard["kind"] == "error").all()
    mined = json.loads((out / "mine" / "stats.json").read_text())
    assert mined["considered"] == len(augmented) and mined["kept_errors"] == len(hard)
    assert mined["kept_errors"] + mined["dropped_not_hard"] == len(augmented)
    assert (os.stat(out / "mine" / "misclassified.tsv").st_mode & 0o222) == 0

    for stage in ("stage1", "finetuned"):
        metrics = yaml.safe_load((out / "metrics" / f"{stage}.json").read_text())
        assert {"valid", "test"} <= set(metrics)
        assert metrics["valid"]["n"] == 120 and metrics["valid"]["positive_label"] == "INFORMATIVE"
    prediction = (out / "prediction.csv").read_text().splitlines()
    assert prediction[0] == "id,label" and len(prediction) == 121
    assert (workflow / "results" / "prediction.csv").read_text() == (
        out / "prediction.csv"
    ).read_text()
    rules = ["prepare", "train", "augment", "mine", "finetune", "evaluate_stage1", "predict"]
    assert json.loads((out / "checkpoints" / "finetuned" / "manifest.json").read_text())[
        "kind"
    ] == ("finetuned")
    for rule in rules:
        assert (out / "logs" / f"{rule}.log").stat().st_size > 0
        assert (out / "benchmarks" / f"{rule}.tsv").exists()
    # progress in the rule's log, a tenth of the requests at a time, the journal counted apart
    augment_log = (out / "logs" / "augment.log").read_text()
    done = re.findall(
        r"augment: (\d+)/(\d+) requests \((\d+) from the journal, (\d+) sent", augment_log
    )
    assert len(done) >= 10 and done[-1][0] == done[-1][1]
    assert int(done[-1][2]) + int(done[-1][3]) <= int(done[-1][1])


def test_two_experiments_at_once_one_multilabel(workflow):
    out = workflow / "results" / "demo_emotions"
    dataset = json.loads((out / "data" / "dataset.json").read_text())
    feelings = ["anger", "gratitude", "humour", "relief", "worry"]
    assert dataset["problem_type"] == "multi_label" and dataset["labels"] == feelings
    assert dataset["valid_from_train"] and dataset["rows"] == {
        "train": 270,
        "valid": 30,
        "test": 80,
    }
    train, valid = read_tsv(out / "data" / "train.tsv"), read_tsv(out / "data" / "valid.tsv")
    assert set(train["id"]).isdisjoint(valid["id"])
    for stage in ("stage1", "finetuned"):
        record = json.loads((out / "checkpoints" / stage / "thresholds.json").read_text())
        assert set(record["per_class"]) == set(feelings)
        metrics = json.loads((out / "metrics" / f"{stage}.json").read_text())
        assert {"hamming_loss", "labels_per_sample", "f1_micro"} <= set(metrics["test"])
        per_class = read_tsv(out / "metrics" / f"{stage}_per_class.tsv")
        assert per_class["label"].tolist() == feelings * 2
        assert per_class["split"].tolist() == ["valid"] * 5 + ["test"] * 5
    prediction = pd.read_csv(out / "prediction.csv", dtype=str, keep_default_na=False)
    assert len(prediction) == 80
    assert all(
        0 < len(p.split(",")) <= 5 and set(p.split(",")) <= set(feelings)
        for p in prediction["label"]
    )
    hard = read_tsv(out / "mine" / "misclassified.tsv")
    assert (hard["predicted"] != hard["label"]).all()
    assert "compressed/distilled-onnx-int8" in (out / "logs" / "predict.log").read_text()
    comparison = read_tsv(out / "comparison.tsv").set_index("model")
    compressed = ["onnx", "onnx-int8", "pruned", "distilled", "distilled-onnx-int8"]
    assert comparison.index.tolist() == ["scratch", "tfidf", "stage1", "finetuned", *compressed]
    for kind in compressed:
        folder = out / "compressed" / kind
        assert json.loads((folder / "manifest.json").read_text())["kind"] == kind
        record = json.loads((folder / "thresholds.json").read_text())
        assert set(record["per_class"]) == set(feelings)
    manifest = {
        k: json.loads((out / "compressed" / k / "manifest.json").read_text()) for k in compressed
    }
    # the int8 copy of the distilled student, not of the final model
    assert manifest["distilled-onnx-int8"]["source"] == "results/demo_emotions/compressed/distilled"
    assert manifest["distilled-onnx-int8"]["parameters"] == manifest["distilled"]["parameters"]
    assert manifest["distilled-onnx-int8"]["precision"] == "int8"
    assert manifest["distilled"]["parameters"] < manifest["onnx-int8"]["parameters"]
    speed = comparison[["latency_ms", "texts_per_second"]].astype(float)
    assert (speed > 0).all().all()
    demo_per_class = read_tsv(workflow / "results" / "demo" / "metrics" / "stage1_per_class.tsv")
    assert demo_per_class["label"].tolist() == ["INFORMATIVE", "UNINFORMATIVE"] * 2


def test_the_defaults_mine_with_the_label_checks(workflow):
    """Without the tests' override (helpers.copy_workflow), mine runs the label checks, the
    defaults: every rewrite is counted by the check that dropped it or as kept, and stage 2
    follows from what was kept (the tiny encoder, never sure of a source, keeps none)."""
    config_yaml = workflow / "config.yaml"
    original = config_yaml.read_text()
    config = yaml.safe_load(original)
    del config["mine"]
    out = workflow / "results" / "demo"
    hard_tsv = out / "mine" / "misclassified.tsv"

    def unprotect() -> None:  # mining's output is write-protected: a rerun must delete it
        if hard_tsv.exists():
            hard_tsv.chmod(0o644)
            hard_tsv.unlink()

    finetuned_manifest = out / "checkpoints" / "finetuned" / "manifest.json"
    before = finetuned_manifest.stat().st_mtime_ns

    try:
        config_yaml.write_text(yaml.safe_dump(config))
        unprotect()
        snakemake(
            workflow, "-j2", "results/demo/metrics/finetuned.json", "results/demo/settings.yaml"
        )
        mine = yaml.safe_load((out / "settings.yaml").read_text())["mine"]
        assert (mine["facts"], mine["source_confidence"], mine["max_margin"]) == (True, 0.9, None)
        stats = json.loads((out / "mine" / "stats.json").read_text())
        checks = {"dropped_facts", "dropped_source_unsure", "dropped_source_wrong"}
        assert checks <= set(stats) and sum(stats[c] for c in checks) > 0
        counted = [v for k, v in stats.items() if k.startswith(("dropped_", "kept_"))]
        assert sum(counted) == stats["considered"] == len(read_tsv(out / "augment/augmented.tsv"))
        hard = read_tsv(hard_tsv)
        assert len(hard) == stats["kept_errors"] + stats["kept_near_misses"]
        finetuned = json.loads(finetuned_manifest.read_text())
        assert finetuned["kind"] == "finetuned" and finetuned_manifest.stat().st_mtime_ns > before
        finetune_log = (out / "logs" / "finetune.log").read_text()
        if hard.empty:  # stage 2 is stage 1, said in the log
            assert "no hard examples; the fine-tuned model is the stage-1 model" in finetune_log
    finally:
        config_yaml.write_text(original)
        unprotect()
        snakemake(workflow, "-j2", "results/prediction.csv", "all_experiments")  # back again
