"""Run the seed-study presets on the real datasets and write BENCHMARKS.md.

    .venv/bin/python bench/presets.py wnut2020 imdb_aspect --max-train-rows goemotions=8000
    .venv/bin/python bench/presets.py covid_sentiment --epochs covid_sentiment=1

Each preset in presets/ runs through Snakemake exactly as a user would run it (prepare, stage 1,
and, where the preset has hard_examples on, augment, mine and stage 2, then evaluate and
predict), optionally on a stratified sample of its training rows (`data.max_train_rows`) or
for another number of epochs (`--epochs`) where the full run does not fit a session on this
machine. Test labels are held out, so the table
reports valid (the dataset's own valid.tsv, or the stratified share of train that prepare holds
out). Wall time and peak memory come from Snakemake's per-rule benchmark files. The results of
every preset ever run here are kept in bench/presets_results.json, so BENCHMARKS.md lists them
all; runs on other data or settings are not mixed in, since each entry records its settings.
BENCHMARKS.md is written by bench/report.py from every bench script's results. Not run by CI.
"""

from __future__ import annotations

import argparse
import json

import common
import yaml
from common import REPO

import report

TARGETS = {  # the targets on valid with the packaged MiniLM
    "wnut2020": ("accuracy", 0.89),
    "goemotions": ("f1_macro", 0.46),
    "imdb_aspect": ("accuracy", 0.90),
    "ag_news": ("accuracy", 0.89),
    "covid_sentiment": ("f1_macro", 0.74),
}


def run_preset(name: str, max_train_rows: int | None, epochs: int | None, cores: int) -> dict:
    preset = yaml.safe_load((REPO / "presets" / f"{name}.yaml").read_text())
    overrides = {"experiments": {name: {"data": {"max_train_rows": max_train_rows}}}}
    if epochs is not None:
        overrides["experiments"][name]["train"] = {"epochs": epochs}
    stages = (
        ["stage1", "finetuned"]
        if preset["experiments"][name].get("hard_examples", True)
        else ["stage1"]
    )
    targets = [f"results/{name}/prediction.csv"] + [
        f"results/{name}/metrics/{stage}.json" for stage in stages
    ]
    configs = [f"presets/{name}.yaml", common.override_file(name, overrides)]
    common.run_workflow(targets, configs, cores)
    return summarise(name, preset["experiments"][name], max_train_rows, epochs)


def summarise(
    name: str, preset: dict, max_train_rows: int | None, epochs: int | None, alone: bool = True
) -> dict:
    out = REPO / "results" / name
    dataset = json.loads((out / "data" / "dataset.json").read_text())
    final = "finetuned" if (out / "metrics" / "finetuned.json").exists() else "stage1"
    models = {}
    for stage in ("stage1", "finetuned"):
        path = out / "metrics" / f"{stage}.json"
        if path.exists():
            valid = json.loads(path.read_text())["valid"]
            models[stage] = {
                "accuracy": valid["accuracy"],
                "f1_macro": valid["f1_macro"],
                "f1_micro": valid["f1_micro"],
                **common.epochs(out / "checkpoints" / stage),
            }
    benchmarks = common.rule_benchmarks(out)
    return {
        "dataset": preset["dataset"].split("/")[-1],
        "problem_type": dataset["problem_type"],
        "labels": len(dataset["labels"]),
        "rows": dataset["rows"],
        "valid_from_train": dataset["valid_from_train"],
        "max_train_rows": max_train_rows,
        "train_settings": {**preset.get("train", {}), **({"epochs": epochs} if epochs else {})},
        "final_model": final,
        "models": models,
        "target": common.target(*TARGETS[name], models[final]),
        "wall_s_by_rule": benchmarks["s"].round(0).to_dict(),
        "wall_s": float(benchmarks["s"].sum().round(0)),
        "peak_rss_mb": float(benchmarks["max_rss"].max().round(0)),
        "alone": alone,
        "machine": common.machine(),
        "date": common.today(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("presets", nargs="*", default=list(TARGETS))
    parser.add_argument("--max-train-rows", nargs="*", default=[], metavar="PRESET=N")
    parser.add_argument(
        "--epochs",
        nargs="*",
        default=[],
        metavar="PRESET=N",
        help="run a preset for fewer (or more) epochs than it sets",
    )
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--summarise-only", action="store_true")
    parser.add_argument(
        "--beside-other-work",
        action="store_true",
        help="the machine was not idle: the table marks the wall time as an upper bound",
    )
    args = parser.parse_args()
    limits = {k: int(v) for k, v in (item.split("=") for item in args.max_train_rows)}
    epochs = {k: int(v) for k, v in (item.split("=") for item in args.epochs)}
    results = common.read_results("presets")
    for name in args.presets:
        if args.summarise_only:
            preset = yaml.safe_load((REPO / "presets" / f"{name}.yaml").read_text())
            results[name] = summarise(
                name,
                preset["experiments"][name],
                limits.get(name),
                epochs.get(name),
                not args.beside_other_work,
            )
        else:
            results[name] = run_preset(name, limits.get(name), epochs.get(name), args.cores)
            results[name]["alone"] = not args.beside_other_work
        common.write_results("presets", results)
        report.write()


if __name__ == "__main__":
    main()
