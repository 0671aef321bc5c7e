"""Rule `comparison`: every model an experiment produced, side by side (`comparison.tsv`).

Reads each model's metrics JSON (written by `evaluate`) and writes one row per model: accuracy,
macro-F1 and the F1 of every class on valid, parameters, size on disk, training time and
inference time per 1,000 texts.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from textclf.tsv import write_tsv

log = logging.getLogger(__name__)
COLUMNS = [
    "model",
    "accuracy",
    "f1_macro",
    "f1_micro",
    "parameters",
    "size_mb",
    "train_seconds",
    "inference_seconds_per_1000",
]


def comparison_table(metrics_files: dict[str, str | Path]) -> pd.DataFrame:
    rows = []
    for model, path in metrics_files.items():
        metrics = json.loads(Path(path).read_text())
        valid = metrics["valid"]
        row = {
            "model": model,
            "accuracy": valid["accuracy"],
            "f1_macro": valid["f1_macro"],
            "f1_micro": valid["f1_micro"],
            "parameters": metrics["parameters"],
            "size_mb": metrics["size_bytes"] / 1e6,
            "train_seconds": metrics["train_seconds"],
            "inference_seconds_per_1000": metrics["inference_seconds_per_1000"],
        }
        row |= {f"f1_{entry['label']}": entry["f1"] for entry in valid["per_class"]}
        rows.append(row)
    table = pd.DataFrame(rows)
    numeric = table.columns.difference(["model", "parameters"])
    table[numeric] = table[numeric].astype(float).round(4)
    return table


def write_comparison(metrics_files: dict[str, str | Path], out_tsv) -> None:
    table = comparison_table(metrics_files)
    log.info("comparison on valid:\n%s", table[COLUMNS].to_string(index=False))
    write_tsv(table, out_tsv)
