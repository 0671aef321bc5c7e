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
Not run by CI.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "presets_results.json"
TARGETS = {  # the targets on valid with the packaged MiniLM
    "wnut2020": ("accuracy", 0.89),
    "goemotions": ("f1_macro", 0.46),
    "imdb_aspect": ("accuracy", 0.90),
    "ag_news": ("accuracy", 0.89),
    "covid_sentiment": ("f1_macro", 0.74),
}


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, {memory:.0f} GiB, CPU"
    )


def run_preset(name: str, max_train_rows: int | None, epochs: int | None, cores: int) -> dict:
    preset = yaml.safe_load((REPO / "presets" / f"{name}.yaml").read_text())
    overrides = {"experiments": {name: {"data": {"max_train_rows": max_train_rows}}}}
    if epochs is not None:
        overrides["experiments"][name]["train"] = {"epochs": epochs}
    override_file = REPO / "results" / f".bench_{name}.yaml"
    override_file.parent.mkdir(exist_ok=True)
    override_file.write_text(yaml.safe_dump(overrides))
    stages = (
        ["stage1", "finetuned"]
        if preset["experiments"][name].get("hard_examples", True)
        else ["stage1"]
    )
    targets = [f"results/{name}/prediction.csv"] + [
        f"results/{name}/metrics/{stage}.json" for stage in stages
    ]
    command = [
        sys.executable,
        "-m",
        "snakemake",
        *targets,
        "--cores",
        str(cores),
        "--configfile",
        "config.yaml",
        f"presets/{name}.yaml",
        str(override_file),
    ]
    print(" ".join(command), flush=True)
    subprocess.run(command, cwd=REPO, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return summarise(name, preset["experiments"][name], max_train_rows, epochs)


def summarise(name: str, preset: dict, max_train_rows: int | None, epochs: int | None) -> dict:
    out = REPO / "results" / name
    dataset = json.loads((out / "data" / "dataset.json").read_text())
    final = "finetuned" if (out / "metrics" / "finetuned.json").exists() else "stage1"
    models = {}
    for stage in ("stage1", "finetuned"):
        path = out / "metrics" / f"{stage}.json"
        if path.exists():
            valid = json.loads(path.read_text())["valid"]
            history = pd.read_csv(out / "checkpoints" / stage / "history.tsv", sep="\t")
            models[stage] = {
                "accuracy": valid["accuracy"],
                "f1_macro": valid["f1_macro"],
                "f1_micro": valid["f1_micro"],
                "epochs_run": len(history),
                "best_epoch": int(history.loc[history["best"], "epoch"].iloc[0]),
            }
    benchmarks = pd.concat(
        [pd.read_csv(p, sep="\t").assign(rule=p.stem) for p in (out / "benchmarks").glob("*.tsv")]
    )
    metric, target = TARGETS[name]
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
        "target": {"metric": metric, "value": target, "met": models[final][metric] >= target},
        "wall_s_by_rule": benchmarks.set_index("rule")["s"].round(0).to_dict(),
        "wall_s": float(benchmarks["s"].sum().round(0)),
        "peak_rss_mb": float(benchmarks["max_rss"].max().round(0)),
        "machine": machine(),
        "date": datetime.date.today().isoformat(),
    }


def write_markdown(results: dict) -> None:
    lines = [
        "# Benchmarks on the real datasets",
        "",
        "Written by `bench/presets.py` from its runs (raw numbers: `bench/presets_results.json`).",
        "Model: the packaged all-MiniLM-L6-v2 (22.7M parameters) for every preset. Test labels",
        "are held out, so every number is on **valid**: the dataset's own valid.tsv where it has",
        "one, else the stratified share of train that `prepare` holds out (seed 42). Wall time is",
        "the sum of the rules' times; peak memory is the largest rule's peak RSS.",
        "",
        "| preset | task | train rows used | valid rows | epochs run (best) "
        "| valid accuracy | valid macro-F1 | valid micro-F1 | target | met | wall time "
        "| peak RSS | machine | date |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        m = r["models"][r["final_model"]]
        task = f"{r['problem_type'].replace('_', '-')}, {r['labels']} labels"
        sample = " (sample)" if r["max_train_rows"] else ""
        target = f"{r['target']['metric']} >= {r['target']['value']}"
        lines.append(
            f"| {name} | {task} | {r['rows']['train']}{sample} | {r['rows']['valid']} "
            f"| {m['epochs_run']} ({m['best_epoch']}) | {m['accuracy']:.3f} | {m['f1_macro']:.3f} "
            f"| {m['f1_micro']:.3f} | {target} | {'yes' if r['target']['met'] else 'no'} "
            f"| {r['wall_s'] / 60:.1f} min | {r['peak_rss_mb'] / 1024:.1f} GB | {r['machine']} "
            f"| {r['date']} |"
        )
    lines += ["", "Per preset: settings, and where the time went (seconds by rule).", ""]
    for name, r in results.items():
        lines.append(
            f"- **{name}** ({r['final_model']} is the final model): train settings "
            f"`{json.dumps(r['train_settings'])}`; max_train_rows {r['max_train_rows']}; "
            f"seconds by rule `{json.dumps(r['wall_s_by_rule'])}`"
        )
        if len(r["models"]) > 1:
            s1 = r["models"]["stage1"]
            lines.append(
                f"  - stage 1 alone: accuracy {s1['accuracy']:.3f}, macro-F1 {s1['f1_macro']:.3f}"
            )
    lines += search_section()
    notes = REPO / "bench" / "BENCHMARKS_NOTES.md"
    if notes.exists():
        lines += ["", notes.read_text().strip()]
    (REPO / "BENCHMARKS.md").write_text("\n".join(lines) + "\n")


def search_section() -> list[str]:
    """The searches of bench/search.py (bench/search_results.json), if any ran."""
    path = REPO / "bench" / "search_results.json"
    if not path.exists():
        return []
    searches = json.loads(path.read_text())
    lines = [
        "",
        "## Hyperparameter searches",
        "",
        "Written by `bench/search.py` (raw numbers: `bench/search_results.json`; command: "
        "`.venv/bin/python bench/search.py <preset>`). Each preset ran with the search of "
        "`bench/search/<preset>.yaml`: two worker jobs at once (one thread each) on one Optuna "
        "journal file, TPE, trials on a stratified sample of train with an epoch budget, scored "
        "on 20 % of train held out (never on valid); then stage 1 trained on all training rows "
        "with the best trial's settings and was evaluated on valid. Wall time is the clock time "
        "of the whole run, alone on the machine.",
        "",
        "| preset | trials (complete / pruned) | per trial | best trial's inner score "
        "| stage 1 on valid: accuracy | macro-F1 | epochs run (kept) | target | met "
        "| search | stage 1 | wall time | machine | date |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in searches.items():
        states = [t["state"] for t in r["trials"]]
        search = r["search"]
        budget = f"{search['max_train_rows']} rows, <= {search['epochs']} epochs"
        s1 = r["stage1"]
        by_rule = r["wall_s_by_rule"]
        search_s = max(v for k, v in by_rule.items() if k.startswith("search_worker"))
        target = f"{r['target']['metric']} >= {r['target']['value']}"
        lines.append(
            f"| {name} | {len(states)} ({states.count('complete')} / {states.count('pruned')}) "
            f"| {budget} | {r['best']['value']:.3f} | {s1['accuracy']:.3f} "
            f"| {s1['f1_macro']:.3f} | {s1['epochs_run']} ({s1['best_epoch']}) | {target} "
            f"| {'yes' if r['target']['met'] else 'no'} | {search_s / 60:.1f} min "
            f"| {by_rule['train'] / 60:.1f} min | {r['wall_s'] / 60:.1f} min | {r['machine']} "
            f"| {r['date']} |"
        )
    lines += [
        "",
        "The best settings, and every trial (inner-split score; pruned trials: the "
        "score of the epoch they were stopped at):",
        "",
    ]
    for name, r in searches.items():
        best = {
            k: round(v, 6) if isinstance(v, float) else v for k, v in r["best"]["settings"].items()
        }
        kept = {k: r["train"][k] for k in ("epochs", "patience", "unfreeze") if k in r["train"]}
        lines.append(
            f"- **{name}**: trial {r['best']['trial']}, `{json.dumps(best)}`; with "
            f"`{json.dumps(kept)}` from the preset"
        )
        params = list(r["best"]["settings"])
        lines += [
            "",
            "  | trial | state | score | " + " | ".join(params) + " |",
            "  |---|---|---|" + "---|" * len(params),
        ]
        for t in r["trials"]:
            values = " | ".join(
                f"{t[p]:.3g}" if isinstance(t[p], float) else str(t[p]) for p in params
            )
            lines.append(f"  | {t['trial']} | {t['state']} | {t['value']:.4f} | {values} |")
        lines.append("")
    return lines


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
    args = parser.parse_args()
    limits = {k: int(v) for k, v in (item.split("=") for item in args.max_train_rows)}
    epochs = {k: int(v) for k, v in (item.split("=") for item in args.epochs)}
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in args.presets:
        if args.summarise_only:
            preset = yaml.safe_load((REPO / "presets" / f"{name}.yaml").read_text())
            results[name] = summarise(
                name, preset["experiments"][name], limits.get(name), epochs.get(name)
            )
        else:
            results[name] = run_preset(name, limits.get(name), epochs.get(name), args.cores)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        write_markdown(results)


if __name__ == "__main__":
    main()
