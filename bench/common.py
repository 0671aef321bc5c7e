"""What the bench scripts share: where the repository and the results files are, running the
workflow as a user would (timed), reading what a run left under results/<experiment>/, and the
machine a benchmark ran on. BENCHMARKS.md is written by bench/report.py."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
CPU_FEATURES = ("avx512_bf16", "amx_bf16", "avx512_vnni", "avx_vnni", "avx512f", "avx2")


# --- results files ---------------------------------------------------------------------------


def results_path(script: str) -> Path:
    """bench/<script>_results.json: the raw numbers of bench/<script>.py's runs."""
    return BENCH / f"{script}_results.json"


def read_results(script: str) -> dict:
    """The results bench/<script>.py has recorded so far; {} before its first run."""
    path = results_path(script)
    return json.loads(path.read_text()) if path.exists() else {}


def write_results(script: str, results: dict, indent: int | None = 2) -> None:
    results_path(script).write_text(json.dumps(results, indent=indent) + "\n")


# --- running ---------------------------------------------------------------------------------


def run_workflow(targets: list[str], configfiles: list, cores: int, *options: str) -> float:
    """Run Snakemake on `targets` as a user would (`--cores` = this machine's cores for timed
    runs), with config.yaml then `configfiles`; return the wall seconds."""
    command = [
        sys.executable,
        "-m",
        "snakemake",
        *targets,
        "--cores",
        str(cores),
        *options,
        "--configfile",
        "config.yaml",
        *(str(f) for f in configfiles),
    ]
    print(" ".join(command), flush=True)
    started = time.monotonic()
    subprocess.run(command, cwd=REPO, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return time.monotonic() - started


def override_file(name: str, overrides: dict) -> Path:
    """A config file of `overrides` for one bench run, under results/ (not committed)."""
    path = REPO / "results" / f".bench_{name}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(overrides))
    return path


def preset_settings(name: str, overrides: dict) -> dict:
    """A preset experiment's resolved settings (config.yaml, the preset, then `overrides`)."""
    from textclf.config import check, deep_merge

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    for extra in (yaml.safe_load((REPO / "presets" / f"{name}.yaml").read_text()), overrides):
        config = deep_merge(config, extra)
    return check(config)[name]


# --- what a run left -------------------------------------------------------------------------


def rule_benchmarks(out: Path) -> pd.DataFrame:
    """Snakemake's per-rule benchmark files under `out`/benchmarks, a row a rule, indexed by
    the rule (the file's name)."""
    frames = [
        pd.read_csv(p, sep="\t").assign(rule=p.stem) for p in (out / "benchmarks").glob("*.tsv")
    ]
    return pd.concat(frames).set_index("rule")


def epochs(checkpoint: Path) -> dict:
    """How many epochs a training run ran and which it kept, from its history.tsv."""
    history = pd.read_csv(checkpoint / "history.tsv", sep="\t")
    return {
        "epochs_run": len(history),
        "best_epoch": int(history.loc[history["best"], "epoch"].iloc[0]),
    }


def target(metric: str, value: float, scores: dict) -> dict:
    """A target on valid and whether `scores` met it."""
    return {"metric": metric, "value": value, "met": scores[metric] >= value}


# --- when and where --------------------------------------------------------------------------


def today() -> str:
    return datetime.date.today().isoformat()


def machine() -> str:
    """The machine a benchmark ran on: system, cores, memory, the CPU's model name and the
    vector features that decide the fast paths (bf16, int8 dot products)."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    model, flags = "", set()
    cpuinfo = Path("/proc/cpuinfo")
    for line in cpuinfo.read_text().splitlines() if cpuinfo.exists() else []:
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            model = value.strip()
        elif key.strip() == "flags":
            flags = set(value.split())
    features = "/".join(f for f in CPU_FEATURES if f in flags) or "none of " + "/".join(
        CPU_FEATURES
    )
    return (
        f"{platform.system()} {platform.machine()}, {model or 'CPU'} ({features}), "
        f"{os.cpu_count()} cores, {memory:.0f} GiB, "
        f"{'a GPU' if Path('/dev/nvidia0').exists() else 'no GPU'}"
    )
