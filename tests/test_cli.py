"""`python -m textclf <stage>`: every stage has a documented command; settings and paths resolve
as the workflow's do; mistakes stop with one line. (That the command writes what the rules
write is checked on the demo in test_workflow.py.)"""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO

from textclf import cli


def command(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "textclf", *args], cwd=cwd, capture_output=True, text=True
    )


@pytest.mark.parametrize("stage", list(cli.STAGES))
def test_every_stage_documents_its_arguments(stage, tmp_path):
    # from a folder outside the checkout: the installed package, not the tests' pythonpath
    result = command(stage, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: python -m textclf {stage}")
    for flag in ("--config", "--experiment", "--threads", *cli.STAGES[stage][2]):
        assert flag in result.stdout, (stage, flag)


def test_the_console_script_lists_every_stage(tmp_path):
    script = Path(sys.executable).with_name("textclf")
    result = subprocess.run([script, "--help"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for stage in cli.STAGES:
        assert stage in result.stdout


def parsed(*argv) -> cli.Run:
    args = cli.parser().parse_args(argv)
    args.config = args.config or ["config.yaml"]
    return cli.Run(args)


def test_settings_and_paths_resolve_as_the_workflows(monkeypatch, tmp_path):
    monkeypatch.chdir(REPO)
    run = parsed("train")
    assert run.experiment == "demo"  # config.yaml's default_experiment
    assert run.path(None, "data/train.tsv") == "results/demo/data/train.tsv"
    assert run.path(tmp_path / "t.tsv", "data/train.tsv") == str(tmp_path / "t.tsv")
    assert run.model(None) == "results/demo/checkpoints/finetuned"  # hard examples on
    assert run.model("onnx-int8") == "results/demo/compressed/onnx-int8"
    assert run.model("my/folder") == "my/folder"
    # a later --config is merged into the earlier ones at every depth, as --configfile
    change = tmp_path / "change.yaml"
    change.write_text(yaml.safe_dump({"experiments": {"demo": {"hard_examples": False}}}))
    run = parsed("train", "--config", "config.yaml", "--config", str(change))
    assert run.model(None) == "results/demo/checkpoints/stage1"
    assert run.settings["dataset"] == "data/example"  # the rest of demo's settings kept


def test_a_mistake_stops_with_one_line(monkeypatch, tmp_path):
    monkeypatch.chdir(REPO)
    with pytest.raises(SystemExit, match=r"--experiment: 'nope' is not an experiment .*demo"):
        parsed("predict", "--experiment", "nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"train": {"epochz": 3}}))
    with pytest.raises(SystemExit, match=r"^Configuration error: train.*epochz"):
        parsed("train", "--config", "config.yaml", "--config", str(bad))
    result = command("compress", "--kind", "int4", cwd=REPO)
    assert result.returncode == 2 and "invalid choice: 'int4'" in result.stderr
