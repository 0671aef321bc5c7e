"""`python -m textclf ...` by hand in the demo's folder writes and tracks what the rules did."""

import json
import shutil

import pandas as pd
import pytest
import yaml

from workflow.helpers import mlflow_runs, textclf

pytestmark = pytest.mark.workflow


def test_the_command_line_writes_what_the_rules_wrote(workflow, tmp_path):
    """`python -m textclf settings`, `prepare`, `train`, `compress`, `predict` and `figures`,
    run by hand in the workflow's folder, write what the rules wrote (demo_emotions predicts
    with the int8 copy of its distilled model, is multi-label and has hard examples: every
    kind of figure)."""
    textclf(workflow, "train", "--out", str(tmp_path / "stage1"), "--threads", "2")
    weights = workflow / "results" / "demo" / "checkpoints" / "stage1" / "model.safetensors"
    assert (tmp_path / "stage1" / "model.safetensors").read_bytes() == weights.read_bytes()
    onnx = tmp_path / "onnx"
    textclf(
        workflow, "compress", "--experiment", "demo_emotions", "--kind", "onnx", "--out", str(onnx)
    )
    rule_made = workflow / "results" / "demo_emotions" / "compressed" / "onnx" / "model.onnx"
    assert (onnx / "model.onnx").read_bytes() == rule_made.read_bytes()
    textclf(workflow, "settings", "--out", str(tmp_path / "settings.yaml"))
    rule_wrote = (workflow / "results" / "demo" / "settings.yaml").read_bytes()
    assert (tmp_path / "settings.yaml").read_bytes() == rule_wrote
    textclf(workflow, "prepare", "--out-dir", str(tmp_path / "data"))
    for name in ("train.tsv", "valid.tsv", "test.tsv", "dataset.json"):
        written = (tmp_path / "data" / name).read_bytes()
        assert written == (workflow / "results" / "demo" / "data" / name).read_bytes(), name
    for experiment in ("demo", "demo_emotions"):
        out = tmp_path / f"{experiment}.csv"
        textclf(
            workflow, "predict", "--experiment", experiment, "--out", str(out), "--threads", "2"
        )
        rule_wrote = workflow / "results" / experiment / "prediction.csv"
        assert out.read_bytes() == rule_wrote.read_bytes(), experiment
        # labelling texts with the model folder alone (no configuration) gives the same labels
        model = {"demo": "checkpoints/finetuned", "demo_emotions": "compressed/distilled-onnx-int8"}
        test_tsv = workflow / "results" / experiment / "data" / "test.tsv"
        labelled = tmp_path / f"{experiment}_labelled.csv"
        folder = workflow / "results" / experiment / model[experiment]
        textclf(tmp_path, "predict", "--model", folder, "--input", test_tsv, "--out", labelled)
        by_folder = pd.read_csv(labelled, dtype=str, keep_default_na=False)
        by_rule = pd.read_csv(rule_wrote, dtype=str, keep_default_na=False)
        assert by_folder["id"].tolist() == by_rule["id"].tolist()
        label_sets = [[set(field.split(",")) for field in t["label"]] for t in (by_folder, by_rule)]
        assert label_sets[0] == label_sets[1], experiment  # multi-label: the same sets
    figures = tmp_path / "figures"
    textclf(workflow, "figures", "--experiment", "demo_emotions", "--out-dir", str(figures))
    rules_drew = workflow / "results" / "demo_emotions" / "figures"
    drawn = {p.name for p in rules_drew.iterdir()} - {"scores_by_seed.png"}  # by significance
    assert {p.name for p in figures.iterdir()} == drawn
    assert {"labels_per_sample.png", "hardest_examples.html"} <= {p.name for p in figures.iterdir()}
    html = (figures / "hardest_examples.html").read_bytes()
    assert html == (rules_drew / "hardest_examples.html").read_bytes()


def test_the_command_line_tracks_what_the_rule_tracked(workflow, tmp_path):
    """`python -m textclf track`: into the rule's store it adds nothing (the same runs, known by
    their digests); into a new store it logs every model, as the rule did."""
    record = tmp_path / "again.json"
    textclf(workflow, "track", "--out", str(record))
    assert json.loads(record.read_text()) | {"store": None} == {
        "backend": "mlflow",
        "store": None,
        "runs": {},
        "status": "complete",
    }
    uri = f"sqlite:///{tmp_path / 'new.db'}"
    new = str(tmp_path / "new.yaml")
    (tmp_path / "new.yaml").write_text(yaml.safe_dump({"tracking": {"uri": uri}}))
    # tracking reads the settings record: one of other settings stops it
    with pytest.raises(AssertionError, match="settings.yaml: records other settings"):
        textclf(workflow, "track", "--config", new, "--out", str(record))
    settings = workflow / "results" / "demo" / "settings.yaml"
    kept = tmp_path / "settings.yaml"
    shutil.copy2(settings, kept)
    try:
        textclf(workflow, "settings", "--config", new)
        textclf(workflow, "track", "--config", new, "--out", str(record))
    finally:
        shutil.copy2(kept, settings)  # the rule's record, as it was
    assert set(json.loads(record.read_text())["runs"]) == {
        "scratch",
        "tfidf",
        "stage1",
        "finetuned",
        "significance",
    }
    _, runs = mlflow_runs(uri, "demo")
    _, rule_runs = mlflow_runs(f"sqlite:///{workflow / 'results' / 'mlflow.db'}", "demo")
    assert set(runs) == set(rule_runs)
    for model, run in runs.items():
        assert run.data.metrics == rule_runs[model].data.metrics, model
        params, rule_params = (
            {k: v for k, v in r.data.params.items() if not k.startswith("tracking.")}
            for r in (run, rule_runs[model])
        )
        assert params == rule_params, model
        if model != "significance":  # a model's run records every setting
            assert run.data.params["tracking.uri"] == uri, model
