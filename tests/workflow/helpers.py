"""Snakemake and `python -m textclf` in a copy of the workflow, and what several tests read."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import REPO

from textclf.mining import PLAIN

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
    # The tiny random encoder is never 90 % sure of a source, so the label checks (the `mine`
    # defaults) would leave stage 2 no row to train on: these runs mine as first written, every
    # check off (test_mining.py tests the checks; test_defaults_mine_with_the_label_checks the
    # defaults through Snakemake).
    config["mine"] = dict(PLAIN)
    config["experiments"]["demo_emotions"]["augment"]["max_rows"] = AUGMENT_ROWS
    config["experiments"]["demo_emotions"]["compress"] = {
        # distilled is made because its int8 copy is made from it
        "models": ["onnx", "onnx-int8", "pruned", "distilled-onnx-int8"],
        "distill": {"layers": 1, "epochs": 1},
    }
    config["experiments"]["demo_emotions"]["predict"] = {"model": "distilled-onnx-int8"}
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
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


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def caption_text(name: str) -> str:
    text = (REPO / "report" / f"{name}.rst").read_text().replace("**", "").replace("``", "")
    return " ".join(text.split())


def mlflow_runs(uri: str, experiment: str) -> dict:
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    runs = client.search_runs([found.experiment_id]) if found else []
    return client, {run.info.run_name: run for run in runs}
