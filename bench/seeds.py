"""A preset with several seeds, the paired tests of its comparisons, in parts that resume.

    .venv/bin/python bench/seeds.py wnut2020 --seeds 5            # as many seeds as fit
    .venv/bin/python bench/seeds.py wnut2020 --seeds 5 --summarise-only

The preset runs through Snakemake as a user would, with `seeds: N` (the augmentation shared,
each seed its own stage 1, mining and stage 2, both baselines), one seed at a time, so a run cut
short by the end of a session loses at most one seed. What the paired tests need of each seed's
models - the metrics JSON and the predictions TSV `evaluate` wrote, a few hundred kB - is kept
under bench/seeds/<preset>/ (committed), with the augmentation's journal, so a later session on
a fresh machine reuses the LLM's replies and trains only the seeds not yet kept. Once every
seed is kept, textclf.evidence tests the comparisons on the kept files, exactly as the
workflow's `significance` rule does (without the ensemble, whose members' folders do not
outlive a session), and bench/seeds_results.json and BENCHMARKS.md get the result.
Not run by CI.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import common
import yaml
from common import BENCH, REPO

import report
from textclf import evidence, layout, registry
from textclf.config import check, deep_merge
from textclf.labels import LabelSpace

KEPT = BENCH / "seeds"


def configuration(name: str, seeds: int) -> tuple[dict, Path]:
    """The experiment's resolved settings with `seeds`, and the override file giving them."""
    overrides = {
        "experiments": {name: {"seeds": seeds, "tracking": {"enabled": False}}},
    }
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    for extra in (yaml.safe_load((REPO / "presets" / f"{name}.yaml").read_text()), overrides):
        config = deep_merge(config, extra)
    return check(config)[name], common.override_file(f"seeds_{name}", overrides)


def kept(run: str) -> Path:
    """Where a seed's evaluated files are kept: bench/seeds/<run below results/>."""
    return KEPT / Path(layout.path(run)).relative_to(layout.RESULTS)


def run_seed(name: str, run: str, models: list[str], configs: list, cores: int) -> float:
    """Train and evaluate one seed's models; keep what the paired tests read."""
    targets = [layout.metrics(run, model) for model in models]
    seconds = common.run_workflow(targets, configs, cores, "--rerun-incomplete")
    for model in models:
        for path in layout.evaluated(run, model).values():
            copy = kept(run) / Path(path).relative_to(layout.path(run))
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / path, copy)
    return seconds


def journal(name: str) -> tuple[Path, Path]:
    """The augmentation's journal in results/ and its kept copy."""
    live = REPO / layout.path(name, "augment", "journal.jsonl")
    return live, kept(name) / "augment" / "journal.jsonl"


def summarise(name: str, settings: dict, runs: dict, seconds: dict) -> dict:
    runs = {
        seed: (run, [m for m in models if m != "ensemble"]) for seed, (run, models) in runs.items()
    }
    files = {
        seed: {
            m: {
                k: str(kept(run) / Path(v).relative_to(layout.path(run)))
                for k, v in layout.evaluated(run, m).items()
            }
            for m in models
        }
        for seed, (run, models) in runs.items()
    }
    space = LabelSpace.read(kept(name) / "data" / "dataset.json")
    comparisons = [pair for pair in registry.comparisons(settings) if "ensemble" not in pair]
    table = evidence.significance_table(
        files,
        comparisons,
        space,
        settings["train"]["metric"],
        settings["evaluation"],
        settings["positive_label"],
    )
    metric = "accuracy"
    scores = evidence.scores_by_seed(files, metric)
    return {
        "date": common.today(),
        "machine": common.machine(),
        "command": f".venv/bin/python bench/seeds.py {name} --seeds {len(runs)}",
        "seeds": settings["seeds"],
        "settings": {k: settings[k] for k in ("train", "finetune", "augment")},
        "seconds_by_seed": seconds,
        "significance": table.to_dict("records"),
        "sentences": evidence.sentences(table, settings["evaluation"]["confidence"]),
        "scores": scores.to_dict("records"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("preset")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--summarise-only", action="store_true")
    args = parser.parse_args()
    name = args.preset
    settings, overrides = configuration(name, args.seeds)
    configs = [f"presets/{name}.yaml", overrides]
    runs = registry.runs(name, settings)
    results = common.read_results("seeds")
    seconds = results.get(name, {}).get("seconds_by_seed", {})
    live, copy = journal(name)
    if copy.exists() and not live.exists():  # the LLM's replies of an earlier session
        live.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(copy, live)
    missing = []
    for seed, (run, models) in runs.items():
        models = [m for m in models if m != "ensemble"]
        done = all(
            (kept(run) / Path(p).relative_to(layout.path(run))).exists()
            for m in models
            for p in layout.evaluated(run, m).values()
        )
        if done:
            continue
        if args.summarise_only:
            missing.append(seed)
            continue
        seconds[str(seed)] = round(run_seed(name, run, models, configs, args.cores), 1)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(live, copy)
        (kept(name) / "data").mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / layout.dataset_json(name), kept(name) / "data" / "dataset.json")
        results[name] = {**results.get(name, {}), "seconds_by_seed": seconds}
        common.write_results("seeds", results)
    if missing:
        print(f"seeds {missing} not run yet: rerun without --summarise-only")
        return
    results[name] = summarise(name, settings, runs, seconds)
    common.write_results("seeds", results)
    report.write()
    for sentence in results[name]["sentences"]:
        print(sentence)


if __name__ == "__main__":
    main()
