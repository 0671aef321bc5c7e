"""`python -m textclf <stage>`: every stage has a documented command; settings and paths resolve
as the workflow's do; mistakes stop with one line. (That the command writes what the rules
write is checked on the demo in workflow/test_command_line.py.)"""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO

from textclf import cli
from textclf.stages import STAGES


def command(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "textclf", *args], cwd=cwd, capture_output=True, text=True
    )


@pytest.mark.parametrize("stage", list(STAGES))
def test_every_stage_documents_its_arguments(stage, tmp_path):
    # from a folder outside the checkout: the installed package, not the tests' pythonpath
    result = command(stage, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: python -m textclf {stage}")
    flags = [*STAGES[stage].flags, *(f"--{option}" for option in STAGES[stage].options)]
    for flag in ("--config", "--experiment", "--threads", *flags):
        assert flag in result.stdout, (stage, flag)
    summary = STAGES[stage].summary.split()[:6]  # the help is the entry point's docstring
    assert " ".join(summary) in " ".join(result.stdout.split())


def test_the_console_script_lists_every_stage(tmp_path):
    script = Path(sys.executable).with_name("textclf")
    result = subprocess.run([script, "--help"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for stage in STAGES:
        assert stage in result.stdout


def test_settings_and_paths_resolve_as_the_workflows(monkeypatch, tmp_path):
    monkeypatch.chdir(REPO)
    experiment, settings = cli.resolve(["config.yaml"], None)
    assert experiment == "demo"  # config.yaml's default_experiment
    train = STAGES["train"].paths(experiment, settings)
    assert train["train"] == "results/demo/data/train.tsv"
    assert train["checkpoint"] == "results/demo/checkpoints/stage1"
    evaluate = STAGES["evaluate"].paths
    assert evaluate(experiment, settings)["model"] == "results/demo/checkpoints/finetuned"
    chosen = evaluate(experiment, settings, model="onnx-int8")
    assert chosen["model"] == "results/demo/compressed/onnx-int8"
    assert chosen["metrics"] == "results/demo/metrics/onnx-int8.json"
    assert evaluate(experiment, settings, model="my/folder")["model"] == "my/folder"
    # a later --config is merged into the earlier ones at every depth, as --configfile
    change = tmp_path / "change.yaml"
    change.write_text(yaml.safe_dump({"experiments": {"demo": {"hard_examples": False}}}))
    _, changed = cli.resolve(["config.yaml", str(change)], None)  # merged over config.yaml
    assert evaluate(experiment, changed)["model"] == "results/demo/checkpoints/stage1"
    assert changed["dataset"] == "data/example"  # the rest of demo's settings kept


def test_a_mistake_stops_with_one_line(monkeypatch, tmp_path):
    monkeypatch.chdir(REPO)
    with pytest.raises(SystemExit, match=r"--experiment: 'nope' is not an experiment .*demo"):
        cli.resolve(["config.yaml"], "nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"train": {"epochz": 3}}))
    with pytest.raises(SystemExit, match=r"^Configuration error: train.*epochz"):
        cli.resolve(["config.yaml", str(bad)], None)
    with pytest.raises(SystemExit, match=r"^nope.yaml: no such configuration file"):
        cli.main(["train", "--config", "nope.yaml"])
    result = command("compress", "--kind", "int4", cwd=REPO)
    assert result.returncode == 2 and "invalid choice: 'int4'" in result.stderr


def test_each_stage_passes_what_its_rule_passes(monkeypatch):
    """The settings and paths each command hands the library, against the rules' own."""
    import textclf.compression
    import textclf.distillation
    import textclf.finetuning
    import textclf.inference
    import textclf.speed
    import textclf.tsv
    from textclf import stages
    from textclf.config import card_params, finetune_params, training_params

    monkeypatch.chdir(REPO)
    monkeypatch.setattr(textclf.tsv, "read_tsv", lambda path: f"rows of {path}")
    calls = {}
    for module, name in [
        (textclf.finetuning, "run_stage1"),
        (textclf.finetuning, "run_stage2"),
        (textclf.inference, "run_evaluate"),
        (textclf.compression, "run_compress_onnx"),
        (textclf.distillation, "run_distill"),
        (textclf.speed, "run_speed"),
    ]:
        monkeypatch.setattr(module, name, lambda name=name, **kw: calls.__setitem__(name, kw))
    needed = []  # what compress checks is there before it starts (results/ may be empty here)

    def need(paths, *names, made_by):
        needed.append([paths[name] for name in names])

    monkeypatch.setattr(stages, "_need", need)
    settings = cli.resolve(["config.yaml"], None)[1]
    cli.main(["train", "--threads", "2"])
    stage1 = calls["run_stage1"]
    assert stage1["settings"] == training_params(settings)
    assert stage1["card"] == card_params(settings, "demo") and stage1["best_yaml"] is None
    assert stage1["out_dir"] == "results/demo/checkpoints/stage1" and stage1["threads"] == 2
    cli.main(["train", "--train", "my/train.tsv"])
    assert calls["run_stage1"]["train_tsv"] == "my/train.tsv"
    cli.main(["finetune"])
    stage2 = calls["run_stage2"]
    assert stage2["settings"] == finetune_params(settings) != training_params(settings)
    assert stage2["hard_tsv"] == "results/demo/mine/misclassified.tsv"
    assert stage2["original_per_hard"] == settings["finetune"]["original_per_hard"]
    needed.clear()
    cli.main(["compress", "--kind", "onnx-int8"])
    onnx = calls["run_compress_onnx"]
    assert (onnx["kind"], onnx["model_dir"]) == ("onnx-int8", "results/demo/checkpoints/finetuned")
    assert onnx["out_dir"] == "results/demo/compressed/onnx-int8"
    cli.main(["compress", "--kind", "distilled-onnx-int8"])  # made from the distilled model
    chained = calls["run_compress_onnx"]
    assert chained["model_dir"] == "results/demo/compressed/distilled"
    assert chained["out_dir"] == "results/demo/compressed/distilled-onnx-int8"
    assert needed == [["results/demo/checkpoints/finetuned"], ["results/demo/compressed/distilled"]]
    cli.main(["compress", "--kind", "distilled", "--model", "stage1"])
    distilled = calls["run_distill"]
    assert distilled["model_dir"] == "results/demo/checkpoints/stage1"
    assert distilled["distill_settings"] == settings["compress"]["distill"]
    assert distilled["train_rows"] == "rows of results/demo/data/train.tsv"
    cli.main(["evaluate", "--model", "tfidf"])
    evaluated = calls["run_evaluate"]
    assert evaluated["model_dir"] == "results/demo/baselines/tfidf"
    assert evaluated["out_json"] == "results/demo/metrics/tfidf.json"
    assert evaluated["positive_label"] == "INFORMATIVE"
    cli.main(["speed"])
    assert list(calls["run_speed"]["model_dirs"]) == ["scratch", "tfidf", "stage1", "finetuned"]


def test_a_missing_input_stops_with_the_command_that_makes_it(monkeypatch, tmp_path):
    monkeypatch.chdir(REPO)
    empty = tmp_path / "nothing.yaml"  # the demo, on a results/ where nothing ran yet
    empty.write_text("{}\n")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text())
    with pytest.raises(SystemExit, match=r"results/demo/settings.yaml.*: missing; run settings"):
        cli.main(["track"])
    with pytest.raises(SystemExit, match=r"results/demo/checkpoints/stage1.*missing; run the"):
        cli.main(["figures"])
    missing = r"^results/demo/compressed/distilled: missing; run compress --kind distilled"
    with pytest.raises(SystemExit, match=missing):
        cli.main(["compress", "--kind", "distilled-onnx-int8"])


def test_the_data_stages_run_without_torch(tmp_path):
    """settings and prepare run in the rules' data env (no torch, transformers or mlflow): the
    command line imports what a stage needs only when it runs."""
    code = f"""
import sys
BLOCKED = {"torch", "transformers", "mlflow", "onnxruntime", "matplotlib"}

class Absent:  # as if these were not installed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(name)

sys.meta_path.insert(0, Absent())
from textclf.cli import main
main(["settings", "--out", {str(tmp_path / "s.yaml")!r}])
main(["prepare", "--out-dir", {str(tmp_path / "data")!r}])
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "data" / "dataset.json").exists() and (tmp_path / "s.yaml").exists()
