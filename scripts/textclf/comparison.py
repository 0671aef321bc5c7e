"""Rule `comparison`: every model an experiment produced, side by side (`comparison.tsv`).

Reads each model's metrics JSON (written by `evaluate`) and the speed table (written by `speed`,
all models measured in one job) and writes one row per model: accuracy, macro-F1, micro-F1,
macro precision and recall and the F1 of every class on valid, the bootstrap interval of
accuracy and macro-F1 (`accuracy_low`, `accuracy_high`, ...), parameters, size on disk,
training time, latency at batch 1 and throughput at batch 64. With several seeds (`runs`),
the first seed's scores, and the mean, standard deviation, min and max over seeds of
accuracy and macro-F1 beside them.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from textclf.significance import over_seeds
from textclf.tsv import write_tsv

log = logging.getLogger(__name__)
COLUMNS = [
    "model",
    "accuracy",
    "f1_macro",
    "f1_micro",
    "precision_macro",
    "recall_macro",
    "parameters",
    "size_mb",
    "train_seconds",
    "latency_ms",
    "texts_per_second",
]


INTERVALS = ("accuracy", "f1_macro")


def _valid(path) -> dict:
    return json.loads(Path(path).read_text())["valid"]


def comparison_table(
    metrics_files: dict[str, str | Path], speed_tsv, runs: dict | None = None
) -> pd.DataFrame:
    speed = pd.read_csv(speed_tsv, sep="\t").set_index("model")
    rows = []
    for model, path in metrics_files.items():
        metrics = json.loads(Path(path).read_text())
        valid = metrics["valid"]
        intervals = valid.get("intervals", {})
        row = {
            "model": model,
            "accuracy": valid["accuracy"],
            "f1_macro": valid["f1_macro"],
            "f1_micro": valid["f1_micro"],
            "precision_macro": valid["precision_macro"],
            "recall_macro": valid["recall_macro"],
            "parameters": metrics["parameters"],
            "size_mb": metrics["size_bytes"] / 1e6,
            "train_seconds": metrics["train_seconds"],
            "latency_ms": speed.loc[model, "latency_ms"],
            "texts_per_second": speed.loc[model, "texts_per_second"],
        }
        for name in INTERVALS:
            row[f"{name}_low"], row[f"{name}_high"] = intervals.get(name, (None, None))
        seeded = [files[model]["metrics"] for files in (runs or {}).values() if model in files]
        if len(seeded) > 1:
            row["seeds"] = len(seeded)
            for name in INTERVALS:
                summary = over_seeds([_valid(file)[name] for file in seeded])
                row |= {f"{name}_{key}": value for key, value in summary.items()}
        row |= {f"f1_{entry['label']}": entry["f1"] for entry in valid["per_class"]}
        rows.append(row)
    table = pd.DataFrame(rows)
    numeric = table.columns.difference(["model", "parameters", "seeds"])
    table[numeric] = table[numeric].astype(float).round(4)
    if "seeds" in table:  # the ensemble has none of its own
        table["seeds"] = table["seeds"].astype("Int64")
    return table


def write_comparison(
    metrics_files: dict[str, str | Path], speed_tsv, out_tsv, runs: dict | None = None
) -> None:
    table = comparison_table(metrics_files, speed_tsv, runs)
    log.info("comparison on valid:\n%s", table[COLUMNS].to_string(index=False))
    write_tsv(table, out_tsv)
