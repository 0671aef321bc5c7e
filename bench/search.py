"""Run a hyperparameter search on a preset's real data, retrain the best on all rows, and add
the result to BENCHMARKS.md (bench/report.py).

    .venv/bin/python bench/search.py wnut2020 covid_sentiment

For each preset, Snakemake runs the preset as a user would, with the search of
bench/search/<preset>.yaml switched on: the search's worker jobs run their trials on a seeded,
stratified sample of train (scored on an inner split of train, never on valid), then stage 1
trains on all training rows with the best trial's settings and is evaluated on valid. Stage 1
is the model reported (hard examples are off here: they are measured in bench/presets.py).
The wall time is the clock time of the whole run (the workers run at once); the seconds by rule
come from Snakemake's benchmark files. Results: bench/search_results.json. Not run by CI.
"""

from __future__ import annotations

import argparse
import json
import os

import common
import pandas as pd
import yaml
from common import REPO

import report

TARGETS = {"wnut2020": ("accuracy", 0.89), "covid_sentiment": ("f1_macro", 0.85)}


def run_search(name: str, cores: int) -> dict:
    override = REPO / "bench" / "search" / f"{name}.yaml"
    targets = [f"results/{name}/metrics/stage1.json", f"results/{name}/settings.yaml"]
    configs = [f"presets/{name}.yaml", override.relative_to(REPO)]
    # the workers share the cores (one thread each on two cores) and train at once
    wall_s = common.run_workflow(targets, configs, cores)
    return summarise(name, wall_s)


def summarise(name: str, wall_s: float) -> dict:
    out = REPO / "results" / name
    settings = yaml.safe_load((out / "settings.yaml").read_text())
    best = yaml.safe_load((out / "search" / "best.yaml").read_text())
    trials = pd.read_csv(out / "search" / "trials.tsv", sep="\t")
    valid = json.loads((out / "metrics" / "stage1.json").read_text())["valid"]
    dataset = json.loads((out / "data" / "dataset.json").read_text())
    benchmarks = common.rule_benchmarks(out)
    return {
        "search": settings["search"],
        "train": {k: v for k, v in settings["train"].items() if k not in best["settings"]},
        "trials": trials.to_dict(orient="records"),
        "best": best,
        "rows": dataset["rows"],
        "stage1": {
            "accuracy": valid["accuracy"],
            "f1_macro": valid["f1_macro"],
            **common.epochs(out / "checkpoints" / "stage1"),
        },
        "target": common.target(*TARGETS[name], valid),
        "wall_s": round(wall_s),
        "wall_s_by_rule": benchmarks["s"].round(0).to_dict(),
        "peak_rss_mb": float(benchmarks["max_rss"].max().round(0)),
        "machine": common.machine(),
        "date": common.today(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("presets", nargs="*", default=list(TARGETS))
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument(
        "--summarise-only", type=float, metavar="WALL_S", help="re-read a finished run"
    )
    args = parser.parse_args()
    for name in args.presets:
        if args.summarise_only is not None:
            result = summarise(name, args.summarise_only)
        else:
            result = run_search(name, args.cores)
        # read now, not at the start: another run may have added a preset meanwhile
        results = common.read_results("search")
        results[name] = result
        common.write_results("search", results)
        report.write()


if __name__ == "__main__":
    main()
