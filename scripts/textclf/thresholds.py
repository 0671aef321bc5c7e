"""Decision thresholds for multi-label models, tuned on the validation split.

Two are tuned: one global threshold (the grid value that maximises the selection metric) and
one per class (each class's own best F1; a class absent from valid keeps the global one).
`thresholds.json` beside the weights records both and which one prediction uses
(`train.threshold`: `per_class`, `global`, or a fixed number). A row whose probabilities all
fall below their thresholds gets its most probable label, since every row has at least one.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from textclf.metrics import classification_metrics

GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)
FILE = "thresholds.json"


def apply_thresholds(probabilities: np.ndarray, thresholds: np.ndarray | float) -> np.ndarray:
    """Boolean multi-hot predictions; at least one label per row."""
    predicted = probabilities >= thresholds
    empty = ~predicted.any(axis=1)
    predicted[empty, probabilities[empty].argmax(axis=1)] = True
    return predicted


def label_fields(space, probabilities: np.ndarray, chosen=None) -> list[str]:
    """The label field each row of probabilities stands for: the arg-max label (single-label)
    or the set of labels at or above their `chosen` thresholds (multi-label)."""
    if space.multi_label:
        return [space.decode(row) for row in apply_thresholds(probabilities, chosen)]
    return [space.labels[i] for i in probabilities.argmax(-1)]


def average_for(metric: str) -> str:
    """The F1 average thresholds are tuned for when `metric` selects the model."""
    return "micro" if metric == "f1_micro" else "macro"


def score_on_valid(space, probabilities, gold_fields, metric: str, positive_label=None) -> dict:
    """Metrics of one epoch on valid, as training and the baselines select epochs by them: the
    arg-max label, or, multi-label, the label sets at the global threshold best on these rows."""
    chosen = None
    if space.multi_label:
        gold = space.targets(gold_fields) > 0
        chosen = tune_global(probabilities, gold, average_for(metric))
    predicted = label_fields(space, probabilities, chosen)
    return classification_metrics(list(gold_fields), predicted, space, positive_label)


def _f1(gold: np.ndarray, predicted: np.ndarray, average: str) -> float:
    return float(f1_score(gold, predicted, average=average, zero_division=0))


def tune_global(probabilities: np.ndarray, gold: np.ndarray, average: str = "macro") -> float:
    scores = [_f1(gold, apply_thresholds(probabilities, t), average) for t in GRID]
    return float(GRID[int(np.argmax(scores))])


def tune_per_class(probabilities: np.ndarray, gold: np.ndarray, fallback: float) -> np.ndarray:
    """Each class's threshold maximising its own F1 (ties: the lowest threshold)."""
    thresholds = np.full(gold.shape[1], fallback)
    for k in range(gold.shape[1]):
        if gold[:, k].sum() == 0:
            continue
        scores = [_f1(gold[:, k], probabilities[:, k] >= t, "binary") for t in GRID]
        thresholds[k] = GRID[int(np.argmax(scores))]
    return thresholds


def tune(probabilities, gold, labels: list[str], use, average: str = "macro") -> dict:
    """Everything `thresholds.json` holds."""
    global_threshold = tune_global(probabilities, gold, average)
    per_class = tune_per_class(probabilities, gold, global_threshold)
    return {
        "use": use,
        "global": global_threshold,
        "per_class": {label: float(t) for label, t in zip(labels, per_class, strict=True)},
        "tuned_on": f"valid, {len(gold)} rows, grid {GRID[0]}..{GRID[-1]} step 0.025",
    }


def chosen(record: dict, labels: list[str]) -> np.ndarray:
    """The threshold of each label that prediction uses."""
    use = record["use"]
    if use == "per_class":
        return np.array([record["per_class"][label] for label in labels])
    value = record["global"] if use == "global" else float(use)
    return np.full(len(labels), value)


def save(record: dict, folder) -> None:
    (Path(folder) / FILE).write_text(json.dumps(record, indent=2) + "\n")


def load(folder) -> dict | None:
    path = Path(folder) / FILE
    return json.loads(path.read_text()) if path.exists() else None
