"""The whole workflow through Snakemake on the demo data: tiny model, real local LLM server."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import REPO, free_port

from textclf.tsv import read_tsv

pytestmark = pytest.mark.workflow
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
AUGMENT_ROWS = 12


def snakemake(workdir, *args, check=True, timeout=900, prefix=(), env=None):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", **(env or {})}
    command = (
        [*prefix, *SNAKEMAKE, *args] if not prefix else [*prefix, " ".join([*SNAKEMAKE, *args])]
    )
    result = subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout
    )
    output = result.stdout + result.stderr
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{output[-6000:]}")
    return result.returncode, output


def textclf(workdir, *args, env=None) -> str:
    """`python -m textclf ...` run by hand in the workflow's folder; its stderr (the log)."""
    result = subprocess.run(
        [sys.executable, "-m", "textclf", *args],
        cwd=workdir,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stderr


def start_snakemake(workdir, *args) -> subprocess.Popen:
    """Snakemake in the background, in a session of its own (to be killed as a group)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        [*SNAKEMAKE, *args],
        cwd=workdir,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def copy_workflow(workdir: Path, tiny_bert: Path) -> Path:
    for name in ("Snakefile", "rules", "scripts", "schemas", "envs", "profiles", "report"):
        source = REPO / name
        copy = shutil.copytree if source.is_dir() else shutil.copy
        copy(source, workdir / name)
    for demo in ("example", "example_emotions"):
        shutil.copytree(REPO / "data" / demo, workdir / "data" / demo)
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["model"] = {"name": str(tiny_bert)}
    config["train"] = {"epochs": 2, "learning_rate": 1e-3}
    config["finetune"] = {"epochs": 1}
    config["augment"] = {"max_rows": AUGMENT_ROWS}
    config["experiments"]["demo_emotions"]["augment"]["max_rows"] = AUGMENT_ROWS
    config["experiments"]["demo_emotions"]["compress"] = {
        # distilled is made because its int8 copy is made from it
        "models": ["onnx", "onnx-int8", "pruned", "distilled-onnx-int8"],
        "distill": {"layers": 1, "epochs": 1},
    }
    config["experiments"]["demo_emotions"]["predict"] = {"model": "distilled-onnx-int8"}
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    return workdir


@pytest.fixture(scope="module")
def workflow(tmp_path_factory, tiny_bert):
    workdir = copy_workflow(tmp_path_factory.mktemp("workflow"), tiny_bert)
    snakemake(workdir, "-j2", "results/prediction.csv", "all_experiments")
    return workdir


def planned_jobs(workdir, change: dict | None = None) -> dict[str, int]:
    """Jobs a dry run would execute after `change` is layered over the config."""
    args = ["-n", "results/prediction.csv", "all"]
    if change:
        (workdir / "change.yaml").write_text(yaml.safe_dump(change))
        args += ["--configfile", "config.yaml", "change.yaml"]
    _, output = snakemake(workdir, *args)
    if "Nothing to be done" in output:
        return {}
    table = output.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)}


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
    columns = ["id", "source_id", "text", "label", "predicted", "probability"]
    assert hard.columns.tolist() == columns
    assert set(hard["id"]) <= set(augmented["id"])
    assert (hard["predicted"] != hard["label"]).all()
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


def test_a_missing_dataset_is_downloaded_checked_and_prepared(workflow, serve_files, tmp_path):
    from test_download import GOEMOTIONS, goemotions_spec

    url = serve_files(GOEMOTIONS)
    change = {
        "experiments": {
            "fetched": {
                "dataset": "data/fetched",
                "columns": {"label": "labels"},
                "download": goemotions_spec(url),
            }
        }
    }
    (workflow / "fetched.yaml").write_text(yaml.safe_dump(change))
    args = ["results/fetched/data/dataset.json", "--configfile", "config.yaml", "fetched.yaml"]
    snakemake(workflow, "-j1", *args)
    assert read_tsv(workflow / "data" / "fetched" / "valid.tsv")["id"].tolist() == ["c5", "c6"]
    dataset = json.loads((workflow / "results" / "fetched" / "data" / "dataset.json").read_text())
    assert dataset["problem_type"] == "multi_label" and dataset["labels"] == [
        "anger",
        "joy",
        "neutral",
    ]
    assert dataset["valid_from_train"] is False
    _, output = snakemake(workflow, "-n", *args)  # the local copy now stands: no rule touches it
    assert "Nothing to be done" in output
    # the command line fetches and converts the same files, and never over a local copy
    with pytest.raises(AssertionError, match="data/fetched: holds the dataset already"):
        textclf(workflow, "download", "--experiment", "fetched", "--config", "fetched.yaml")
    out = tmp_path / "fetched"
    textclf(
        workflow,
        "download",
        "--experiment",
        "fetched",
        "--config",
        "fetched.yaml",
        "--out-dir",
        str(out),
    )
    for split in ("train", "valid", "test"):
        rule_wrote = (workflow / "data" / "fetched" / f"{split}.tsv").read_bytes()
        assert (out / f"{split}.tsv").read_bytes() == rule_wrote, split


SUBCATEGORY = {
    "class_distribution": "1 data",
    "training_curves": "2 training",
    "hardest_examples": "4 hard examples",
    "comparison": "5 comparison",
}
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def caption_text(name: str) -> str:
    text = (REPO / "report" / f"{name}.rst").read_text().replace("**", "").replace("``", "")
    return " ".join(text.split())


def open_report_row(page, workflow, experiment, path):
    """Load the report, open the experiment's category holding `path`, return its row."""
    page.goto((workflow / "results" / "report.html").as_uri())
    page.get_by_text(experiment, exact=True).click()
    page.get_by_text(SUBCATEGORY.get(path.stem, "3 evaluation"), exact=True).click()
    return page.locator("tr", has_text=str(path.relative_to(workflow)))


def test_report_shows_every_figure_with_its_caption(workflow):
    from playwright.sync_api import sync_playwright

    assert shutil.which("chromium"), "Debian's chromium is needed for this test"
    snakemake(
        workflow, "--report", "results/report.html", "results/prediction.csv", "all_experiments"
    )
    shown = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        for experiment in ("demo", "demo_emotions"):
            out = workflow / "results" / experiment
            files = sorted((out / "figures").iterdir()) + [out / "comparison.tsv"]
            for path in files:
                row = open_report_row(page, workflow, experiment, path)
                row.locator("a[iconname=information-circle]").click()
                assert caption_text(path.stem) in " ".join(page.inner_text("body").split())
                if path.suffix == ".png":
                    open_report_row(page, workflow, experiment, path).locator(
                        "a[iconname=eye]"
                    ).click()
                    width = page.locator("img").last.evaluate("img => img.naturalWidth")
                    assert width == 900, path
                shown.append(path.stem)
        browser.close()
    expected = {
        "class_distribution",
        "training_curves",
        "confusion_matrix",
        "per_class",
        "frequency_vs_f1",
        "precision_recall",
        "threshold_analysis",
        "embedding_map",
        "hardest_examples",
        "comparison",
    }
    assert set(shown) == expected | {"labels_per_sample"}
    assert shown.count("labels_per_sample") == 1  # multi-label only


def test_push_uploads_the_model_folder_and_keeps_the_token_secret(workflow, monkeypatch):
    from fake_hub import FakeHub

    token = "hf_test_0123456789abcdefSECRET"
    hub = FakeHub(token)
    change = {
        "experiments": {
            "demo": {
                "push": {
                    "repo_id": "someone/demo-minilm",
                    "token_env": "HF_TEST_TOKEN",
                    "endpoint": hub.url,
                }
            }
        }
    }
    (workflow / "push.yaml").write_text(yaml.safe_dump(change))
    args = ["-j1", "results/demo/push.json", "--configfile", "config.yaml", "push.yaml"]
    try:
        code, output = snakemake(workflow, *args, check=False)  # no token in the environment
        assert code != 0 and "HF_TEST_TOKEN (push.token_env) holds no Hugging Face token" in output
        monkeypatch.setenv("HF_TEST_TOKEN", token)
        snakemake(workflow, *args, env={"HF_HUB_OFFLINE": "0"})  # a push is meant to go online
    finally:
        hub.close()
    uploaded = hub.repos["someone/demo-minilm"]
    folder = workflow / "results" / "demo" / "checkpoints" / "finetuned"
    assert {"README.md", "config.json", "model.safetensors", "history.tsv"} <= set(uploaded)
    assert ".snakemake_timestamp" not in uploaded
    assert uploaded["model.safetensors"] == (folder / "model.safetensors").read_bytes()
    assert uploaded["README.md"].startswith(b"---\nlicense: apache-2.0")
    assert hub.card_headers[0]["pipeline_tag"] == "text-classification"
    record = json.loads((workflow / "results" / "demo" / "push.json").read_text())
    assert record["commit_url"].startswith(hub.url)
    # the command line pushes the same folder, its record where --out says
    hub = FakeHub(token)
    change["experiments"]["demo"]["push"]["endpoint"] = hub.url
    (workflow / "push.yaml").write_text(yaml.safe_dump(change))
    try:
        log = textclf(
            workflow,
            "push",
            "--config",
            "push.yaml",
            "--out",
            "cli_push.json",
            env={"HF_HUB_OFFLINE": "0"},
        )
    finally:
        hub.close()
        (workflow / "push.yaml").unlink()
    assert hub.repos["someone/demo-minilm"]["model.safetensors"] == uploaded["model.safetensors"]
    assert json.loads((workflow / "cli_push.json").read_text())["commit_url"].startswith(hub.url)
    assert token not in log
    for path in workflow.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert token.encode() not in path.read_bytes(), path


def test_the_command_line_writes_what_the_rules_wrote(workflow, tmp_path):
    """`python -m textclf settings`, `prepare`, `train`, `compress`, `predict` and `figures`,
    run by hand in the workflow's folder, write what the rules wrote (demo_emotions predicts
    with the int8 copy of its distilled model, is multi-label and has hard examples: every
    kind of figure)."""
    textclf(workflow, "train", "--out", str(tmp_path / "stage1"), "--threads", "2")
    weights = (workflow / "results" / "demo" / "checkpoints" / "stage1" / "model.safetensors")
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
    figures = tmp_path / "figures"
    textclf(workflow, "figures", "--experiment", "demo_emotions", "--out-dir", str(figures))
    rules_drew = workflow / "results" / "demo_emotions" / "figures"
    assert {p.name for p in figures.iterdir()} == {p.name for p in rules_drew.iterdir()}
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
        assert params == rule_params and run.data.params["tracking.uri"] == uri, model


def test_nothing_changed_reruns_nothing(workflow):
    assert planned_jobs(workflow) == {}


def test_llm_change_reruns_augmentation_onward(workflow):
    jobs = planned_jobs(workflow, {"llm": {"temperature": 0.5}})
    assert jobs == {
        "settings": 1,
        "track": 1,
        "augment": 1,
        "mine": 1,
        "finetune": 1,
        "evaluate": 1,
        "predict": 1,
        "speed": 1,
        "comparison": 1,
        "figures": 1,
        "hardest_examples": 1,
        "default_prediction": 1,
        "all": 1,
    }


def test_ratio_change_reruns_stage2_onward(workflow):
    jobs = planned_jobs(workflow, {"finetune": {"original_per_hard": 2.0}})
    assert jobs == {
        "settings": 1,
        "track": 1,
        "finetune": 1,
        "evaluate": 1,
        "predict": 1,
        "speed": 1,
        "comparison": 1,
        "figures": 1,
        "default_prediction": 1,
        "all": 1,
    }


def test_an_int8_copy_of_the_pruned_model_is_planned_with_the_pruned_model(workflow):
    change = {"experiments": {"demo": {"compress": {"models": ["pruned-onnx-int8"]}}}}
    jobs = planned_jobs(workflow, change)
    # the pruned model, then its int8 copy, both evaluated; nothing trained again
    assert jobs["prune"] == 1 and jobs["compress"] == 1 and jobs["evaluate"] == 2
    assert jobs["speed"] == 1 and jobs["comparison"] == 1
    assert not {"train", "finetune", "distill", "augment"} & set(jobs)


def test_stage1_change_reruns_training_but_not_augmentation(workflow):
    jobs = planned_jobs(workflow, {"train": {"epochs": 3}})
    assert "augment" not in jobs and "prepare" not in jobs and "baseline" not in jobs
    assert jobs["train"] == 1 and jobs["mine"] == 1 and jobs["evaluate"] == 2
    assert jobs["settings"] == 1


def test_settings_record_every_key_and_rewriting_it_reruns_nothing_else(workflow):
    from textclf.config import SECTIONS, _known_keys, _section_node

    record = workflow / "results" / "demo" / "settings.yaml"
    settings = yaml.safe_load(record.read_text())
    for section in SECTIONS:
        assert set(_known_keys(_section_node(section))) <= set(settings[section]), section
    assert settings["train"]["epochs"] == 2 and settings["train"]["patience"] == 2  # default
    assert settings["finetune"]["epochs"] == 1
    assert settings["finetune"]["learning_rate"] == 2e-5  # stage 2's own default
    assert settings["finetune"]["batch_size"] == settings["train"]["batch_size"]
    assert settings["model"]["card"] == {"license": "apache-2.0", "language": ["en"], "tags": []}
    emotions = yaml.safe_load(
        (workflow / "results" / "demo_emotions" / "settings.yaml").read_text()
    )
    assert emotions["columns"]["label"] == "labels" and emotions["augment"]["max_rows"] == 12

    outputs = {
        path: path.stat().st_mtime_ns
        for path in (workflow / "results").rglob("*")
        if path.is_file()
        and "logs" not in path.parts
        and path != record
        and path.name not in ("tracking.json", "mlflow.db")  # track reads settings.yaml
    }
    change = {"experiments": {"demo": {"push": {"private": False}}}}
    assert planned_jobs(workflow, change) == {"settings": 1, "track": 1}  # track reads it
    try:
        snakemake(
            workflow, "-j1", "results/prediction.csv", "--configfile", "config.yaml", "change.yaml"
        )
        assert yaml.safe_load(record.read_text())["push"]["private"] is False
        assert planned_jobs(workflow, change) == {}
        assert {path: path.stat().st_mtime_ns for path in outputs} == outputs
    finally:
        snakemake(workflow, "-j1", "results/prediction.csv")  # back to the fixture's settings
    assert yaml.safe_load(record.read_text())["push"]["private"] is True


def test_protected_outputs_survive_a_forced_rerun(workflow):
    # Root ignores file modes; without CAP_DAC_OVERRIDE it is bound by them like any user.
    assert shutil.which("capsh"), "capsh (Debian libcap2-bin) is needed for this test"
    augmented = workflow / "results" / "demo" / "augment" / "augmented.tsv"
    before = augmented.read_bytes()
    drop = ["capsh", "--drop=cap_dac_override,cap_dac_read_search", "--", "-c"]
    code, output = snakemake(
        workflow,
        "-j1",
        "--forcerun",
        "augment",
        "--",
        str(augmented.relative_to(workflow)),
        check=False,
        prefix=drop,
    )
    assert code != 0
    assert "Write-protected output files" in output
    assert augmented.read_bytes() == before


# (the mistake, where it is, what is wrong), each tried at the top level and in an experiment
MISTAKES = [
    ({"trian": {"epochs": 1}}, "", "unknown section 'trian' (did you mean 'train'?)"),
    ({"train": {"epochz": 3}}, "train", "unknown key 'epochz' (did you mean 'epochs'?)"),
    ({"augment": {"variantz": 3}}, "augment", "unknown key 'variantz' (did you mean 'variants'?)"),
    ({"train": {"learning_rate": "fast"}}, "train.learning_rate", "'fast' is not a number"),
    (
        {"model": {"card": {"licence": "mit"}}},
        "model.card",
        "unknown key 'licence' (did you mean 'license'?)",
    ),
    (
        {"train": {"unfreeze": "sometimes"}},
        "train.unfreeze",
        "'sometimes' is not one of epoch, plateau, none",
    ),
]


@pytest.mark.parametrize("place", ["top", "experiment"])
@pytest.mark.parametrize(
    ("mistake", "where", "problem"), MISTAKES, ids=[m[2].split(" (")[0] for m in MISTAKES]
)
def test_a_config_mistake_stops_the_run_in_one_line(
    tmp_path, tiny_bert, mistake, where, problem, place
):
    workdir = copy_workflow(tmp_path, tiny_bert)
    if place == "experiment":
        mistake, where = (
            {"experiments": {"demo": mistake}},
            ".".join(filter(None, ["experiments.demo", where])),
        )
    (workdir / "mistake.yaml").write_text(yaml.safe_dump(mistake))
    expected = f"Configuration error: {where or 'config'}: {problem}"
    for args in (["-n"], ["-j1"]):  # a dry run, and a real one: neither starts a job
        code, output = snakemake(
            workdir,
            *args,
            "all_experiments",
            "--configfile",
            "config.yaml",
            "mistake.yaml",
            check=False,
        )
        assert code != 0
        assert [line for line in output.splitlines() if "error" in line.lower()] == [expected], (
            output
        )
        assert "Traceback" not in output and "rule " not in output
        assert not (workdir / "results").exists()


def test_bad_input_stops_prepare_with_one_clear_line(workflow, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(REPO / "data" / "example", bad)
    lines = (bad / "train.tsv").read_text().splitlines()
    lines[5] = lines[5].replace(" ", "\t", 1)
    (bad / "train.tsv").write_text("\n".join(lines) + "\n")
    change = {"experiments": {"broken": {"dataset": str(bad)}}}
    (workflow / "broken.yaml").write_text(yaml.safe_dump(change))
    code, output = snakemake(
        workflow,
        "-j1",
        "results/broken/prediction.csv",
        "--configfile",
        "config.yaml",
        "broken.yaml",
        check=False,
    )
    assert code != 0
    assert f"DataError: {bad}/train.tsv: line 6: 4 fields where the header has 3" in output
    assert not (workflow / "results" / "broken" / "data").exists()


def fault_experiment(workflow, name, server, **llm):
    """An experiment of the demo data whose augmentation talks to the fault server."""
    change = {
        "experiments": {
            name: {
                "dataset": "data/example",
                "llm": {
                    "base_url": server.url,
                    "model": "fake",
                    "api_key_env": "FAULT_TEST_KEY",
                    "max_retries": 2,
                    "backoff_s": 0.01,
                    "timeout_s": 2,
                    **llm,
                },
                "augment": {"max_rows": 4, "variants": 2},
            }
        }
    }
    (workflow / f"{name}.yaml").write_text(yaml.safe_dump(change))
    return ["--configfile", "config.yaml", f"{name}.yaml"]


def test_a_401_through_snakemake_leaves_the_key_nowhere(workflow, monkeypatch):
    from fault_server import FaultServer

    key = "sk-test-0123456789abcdefcret"
    monkeypatch.setenv("FAULT_TEST_KEY", key)
    server = FaultServer({})
    server.faults.default_factory = lambda: ["401"] * 10
    try:
        args = fault_experiment(workflow, "keytest", server)
        code, output = snakemake(
            workflow, "-j1", "results/keytest/augment/augmented.tsv", *args, check=False
        )
    finally:
        server.close()
    assert code != 0
    assert f"LLM endpoint {server.url} (model fake): HTTP 401" in output
    assert len(server.log) <= 2  # one per worker already in flight, no retries
    assert key not in output
    for path in workflow.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            assert key.encode() not in data and key[-8:].encode() not in data, path


def test_a_killed_snakemake_run_resumes_without_paying_twice(workflow):
    from fault_server import FaultServer

    server = FaultServer({}, block_at=4)  # the 4th request hangs until the kill
    try:
        args = fault_experiment(workflow, "resume", server, workers=1)
        target = "results/resume/augment/augmented.tsv"
        job = start_snakemake(workflow, "-j1", target, *args)
        deadline = time.monotonic() + 300
        while not any(a == "block" for _, _, a in server.log):
            assert time.monotonic() < deadline and job.poll() is None
            time.sleep(0.1)
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()
        assert not (workflow / target).exists()
        snakemake(workflow, "--unlock", *args)
        snakemake(workflow, "-j1", "--rerun-incomplete", target, *args)
    finally:
        server.close()
    answered = server.successes()
    assert len(answered) == 8 and len(set(answered)) == 8
    stats = yaml.safe_load((workflow / "results" / "resume" / "augment" / "stats.json").read_text())
    assert stats["from_journal"] == 3 and stats["sent"] == 5


def mlflow_runs(uri: str, experiment: str) -> dict:
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    runs = client.search_runs([found.experiment_id]) if found else []
    return client, {run.info.run_name: run for run in runs}


def test_every_model_is_an_mlflow_run_in_the_sqlite_store(workflow):
    uri = f"sqlite:///{workflow / 'results' / 'mlflow.db'}"
    client, runs = mlflow_runs(uri, "demo")
    assert set(runs) == {"scratch", "tfidf", "stage1", "finetuned"}
    stage1 = runs["stage1"]
    assert stage1.info.status == "FINISHED"
    assert stage1.data.params["train.epochs"] == "2" and stage1.data.params["model.role"] == "stage"
    assert stage1.data.params["trained_with.learning_rate"] == "0.001"
    history = read_tsv(workflow / "results/demo/checkpoints/stage1/history.tsv")
    steps = client.get_metric_history(stage1.info.run_id, "valid_accuracy")
    assert [(m.step, m.value) for m in steps] == [
        (int(e), float(a)) for e, a in zip(history["epoch"], history["valid_accuracy"], strict=True)
    ]
    metrics = json.loads((workflow / "results/demo/metrics/stage1.json").read_text())
    assert stage1.data.metrics["valid.accuracy"] == metrics["valid"]["accuracy"]
    assert stage1.data.metrics["test.f1_macro"] == metrics["test"]["f1_macro"]
    assert stage1.data.metrics["benchmark.train.seconds"] > 0
    assert stage1.data.metrics["benchmark.evaluate_stage1.max_rss_mb"] > 0
    artifacts = {a.path for a in client.list_artifacts(runs["finetuned"].info.run_id)}
    assert {"model", "figures", "settings.yaml"} <= artifacts
    model_files = {a.path for a in client.list_artifacts(runs["finetuned"].info.run_id, "model")}
    assert {"model/model.safetensors", "model/manifest.json", "model/history.tsv"} <= model_files
    assert "benchmark.baseline_tfidf.seconds" in runs["tfidf"].data.metrics
    _, emotions = mlflow_runs(uri, "demo_emotions")
    compressed = {"onnx", "onnx-int8", "pruned", "distilled", "distilled-onnx-int8"}
    assert set(emotions) == {"scratch", "tfidf", "stage1", "finetuned"} | compressed
    for kind in compressed:  # tracked like every other model
        assert emotions[kind].data.params["model.role"] == "compressed"
        assert "valid.f1_macro" in emotions[kind].data.metrics
    assert emotions["pruned"].data.metrics["benchmark.prune.seconds"] > 0
    assert emotions["distilled-onnx-int8"].data.params["model.source"] == "distilled"
    assert emotions["onnx"].data.params["model.source"] == "finetuned"
    assert emotions["onnx-int8"].data.metrics["benchmark.compress_onnx-int8.seconds"] > 0
    record = json.loads((workflow / "results" / "demo" / "tracking.json").read_text())
    assert record["status"] == "complete"


def track_with(workflow, tracking: dict):
    """Run the workflow's default target with another tracking section (only track reruns)."""
    change = {"tracking": tracking}
    assert planned_jobs(workflow, change) == {"settings": 1, "track": 1}  # and no other job
    return snakemake(
        workflow,
        "-j1",
        "results/prediction.csv",
        "all_experiments",
        "--configfile",
        "config.yaml",
        "change.yaml",
    )


def test_a_tracking_change_reruns_only_track_and_logs_to_an_mlflow_server(workflow, tmp_path):
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'server.db'}",
            "--artifacts-destination",
            str(tmp_path / "artifacts"),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "no MLflow server"
                time.sleep(0.5)
        track_with(workflow, {"uri": url})
        _, runs = mlflow_runs(url, "demo")
        assert set(runs) == {"scratch", "tfidf", "stage1", "finetuned"}
        assert list((tmp_path / "artifacts").rglob("model.safetensors"))  # sent to the server
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        snakemake(workflow, "-j1", "results/prediction.csv", "all_experiments")  # back again


def test_an_unreachable_tracking_server_costs_a_warning_not_a_result(workflow):
    outputs = {
        p: p.stat().st_mtime_ns
        for p in (workflow / "results" / "demo").rglob("*")
        if p.is_file()
        and "logs" not in p.parts
        and p.name not in ("tracking.json", "settings.yaml")
    }
    url = f"http://127.0.0.1:{free_port()}"
    try:
        track_with(workflow, {"uri": url})  # the workflow succeeds
        log = (workflow / "results" / "demo" / "logs" / "track.log").read_text()
        assert f"tracking to {url} failed" in log and "every result is intact" in log
        record = workflow / "results" / "demo" / "tracking.json"
        assert json.loads(record.read_text())["status"] == "incomplete"
        assert {p: p.stat().st_mtime_ns for p in outputs} == outputs
        change = {"tracking": {"uri": url}}
        assert planned_jobs(workflow, change) == {"track": 1}  # tried again next time
    finally:
        snakemake(workflow, "-j1", "results/prediction.csv", "all_experiments")
    assert planned_jobs(workflow) == {}


def test_wandb_offline_writes_run_folders_and_sends_nothing(workflow):
    import socketserver
    import threading

    connections = []

    class Count(socketserver.BaseRequestHandler):
        def handle(self):
            connections.append(self.request.recv(300))

    listener = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Count)
    threading.Thread(target=listener.serve_forever, daemon=True).start()
    host = f"http://127.0.0.1:{listener.server_address[1]}"
    change = {"tracking": {"backend": "wandb"}}
    (workflow / "change.yaml").write_text(yaml.safe_dump(change))
    try:
        snakemake(
            workflow,
            "-j1",
            "results/prediction.csv",
            "--configfile",
            "config.yaml",
            "change.yaml",
            env={"WANDB_BASE_URL": host, "WANDB_API_KEY": "x" * 40},
        )
    finally:
        listener.shutdown()
        listener.server_close()
    assert connections == []  # offline: nothing left the machine, W&B's usage telemetry neither
    runs = sorted((workflow / "results" / "wandb" / "wandb").glob("offline-run-*"))
    assert len(runs) == 4 and all(list(run.glob("run-*.wandb")) for run in runs)
    ledger = json.loads((workflow / "results" / "wandb" / "ledger.json").read_text())
    assert set(ledger["demo"]) == {f"demo/{m}" for m in ("scratch", "tfidf", "stage1", "finetuned")}
    assert json.loads((workflow / "results/demo/tracking.json").read_text())["status"] == "complete"
    for path in (workflow / "results" / "wandb").rglob("*"):
        if path.is_file():
            assert b"x" * 40 not in path.read_bytes(), path
    snakemake(workflow, "-j1", "results/prediction.csv")  # back to MLflow
