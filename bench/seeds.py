"""A preset with several seeds, the paired tests of its comparisons, in parts that resume.

    .venv/bin/python bench/seeds.py wnut2020 --seeds 5            # as many seeds as fit
    .venv/bin/python bench/seeds.py wnut2020 --seeds 5 --summarise-only

The preset runs through Snakemake as a user would, with `seeds: N` (the augmentation shared,
each seed its own stage 1, mining and stage 2, both baselines), one seed at a time, so a run cut
short by the end of a session loses at most one seed. What the paired tests need of each seed's
models - the metrics JSON and each row's predicted label from the predictions TSV `evaluate`
wrote, a few hundred kB - is kept under bench/seeds/<preset>/ (committed), so a later
session trains only the seeds not yet kept (the LLM's replies are not kept: they quote the
dataset's texts; a fresh machine asks for them again). Nothing of the shared dataset is kept: no
text, no gold label (the predictions lose their `label` column, dataset.json its leakage
examples); the gold labels are joined back by id from the prepared split when the tests run.
Once every seed is kept, textclf.evidence tests the comparisons on the kept files, exactly as
the workflow's `significance` rule does (without the ensemble, whose members' folders do not
outlive a session), and bench/seeds_results.json and BENCHMARKS.md get the result.
Not run by CI.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import common
import pandas as pd
from common import BENCH, REPO

import report
from textclf import evidence, layout, registry
from textclf.labels import LabelSpace
from textclf.tsv import read_tsv, write_tsv

KEPT = BENCH / "seeds"


def configuration(name: str, seeds: int) -> tuple[dict, Path]:
    """The experiment's resolved settings with `seeds`, and the override file giving them."""
    overrides = {
        "experiments": {name: {"seeds": seeds, "tracking": {"enabled": False}}},
    }
    return common.preset_settings(name, overrides), common.override_file(f"seeds_{name}", overrides)


def kept(run: str) -> Path:
    """Where a seed's evaluated files are kept: bench/seeds/<run below results/>."""
    return KEPT / Path(layout.path(run)).relative_to(layout.RESULTS)


def keep(path: str, run: str) -> None:
    """Keep one evaluated file of a run, without the shared dataset's gold labels."""
    copy = kept(run) / Path(path).relative_to(layout.path(run))
    copy.parent.mkdir(parents=True, exist_ok=True)
    if path.endswith(".tsv"):
        write_tsv(read_tsv(REPO / path).drop(columns="label"), copy)
    else:
        shutil.copy(REPO / path, copy)


def keep_dataset(name: str) -> None:
    """dataset.json (labels, rows) without its leakage report, which quotes texts."""
    dataset = json.loads((REPO / layout.dataset_json(name)).read_text())
    dataset.pop("leakage", None)
    copy = kept(name) / "data" / "dataset.json"
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text(json.dumps(dataset, indent=2) + "\n")


def with_gold(kept_tsv: Path, gold: dict[str, pd.Series], out: Path) -> Path:
    """A kept predictions TSV with its gold labels joined back by id from the prepared splits."""
    table = read_tsv(kept_tsv)
    table.insert(2, "label", [gold[s][i] for s, i in zip(table["split"], table["id"], strict=True)])
    out.parent.mkdir(parents=True, exist_ok=True)
    write_tsv(table, out)
    return out


def paired_tests(files: dict, comparisons: list, space: LabelSpace, settings: dict):
    """textclf.evidence's significance table of kept files, with the experiment's settings."""
    return evidence.significance_table(
        files,
        comparisons,
        space,
        settings["train"]["metric"],
        settings["evaluation"],
        settings["positive_label"],
    )


def run_seed(name: str, run: str, models: list[str], configs: list, cores: int) -> float:
    """Train and evaluate one seed's models; keep what the paired tests read."""
    targets = [layout.metrics(run, model) for model in models]
    seconds = common.run_workflow(targets, configs, cores, "--rerun-incomplete")
    for model in models:
        for path in layout.evaluated(run, model).values():
            keep(path, run)
    return seconds


def summarise(name: str, settings: dict, runs: dict, seconds: dict, configs: list) -> dict:
    runs = {
        seed: (run, [m for m in models if m != "ensemble"]) for seed, (run, models) in runs.items()
    }
    common.run_workflow([layout.dataset_json(name)], configs, 1)  # the gold labels, by id
    splits = {split: read_tsv(REPO / layout.split(name, split)) for split in ("valid", "test")}
    gold = {s: t.set_index("id")["label"] for s, t in splits.items() if "label" in t}
    scratch = Path(tempfile.mkdtemp(prefix="seeds_"))
    files = {}
    for seed, (run, models) in runs.items():
        files[seed] = {}
        for m in models:
            below = {
                key: Path(v).relative_to(layout.path(run))
                for key, v in layout.evaluated(run, m).items()
            }
            restored = scratch / run / below["predictions"]
            files[seed][m] = {
                "metrics": str(kept(run) / below["metrics"]),
                "predictions": str(with_gold(kept(run) / below["predictions"], gold, restored)),
            }
    space = LabelSpace.read(kept(name) / "data" / "dataset.json")
    comparisons = [pair for pair in registry.comparisons(settings) if "ensemble" not in pair]
    table = paired_tests(files, comparisons, space, settings)
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
        keep_dataset(name)
        results[name] = {**results.get(name, {}), "seconds_by_seed": seconds}
        common.write_results("seeds", results)
    if missing:
        print(f"seeds {missing} not run yet: rerun without --summarise-only")
        return
    results[name] = summarise(name, settings, runs, seconds, configs)
    common.write_results("seeds", results)
    report.write()
    for sentence in results[name]["sentences"]:
        print(sentence)


if __name__ == "__main__":
    main()
