"""Classification metrics, computed with scikit-learn, as plain JSON-ready dicts.

Single-label: accuracy; micro, macro and weighted precision/recall/F1; the positive class of a
binary task; the confusion matrix. Multi-label: subset accuracy, the same averages over the
multi-hot matrix, hamming loss and labels per sample. Both carry a per-class report.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    hamming_loss,
    precision_recall_fscore_support,
)

from textclf.labels import LabelSpace

SELECTABLE = ("accuracy", "f1_micro", "f1_macro", "f1_weighted", "f1_positive")
AVERAGES = ("micro", "macro", "weighted")


def selection_metric(configured: str, space: LabelSpace) -> str:
    """The metric that picks the best epoch and model (train.metric): auto is accuracy, or
    macro-F1 for multi-label."""
    if configured != "auto":
        return configured
    return "f1_macro" if space.multi_label else "accuracy"


def positive_label_of(labels: list[str], configured: str | None) -> str | None:
    """The positive class of a binary task: the configured one, else the second in sorted
    order (so 0/1, false/true, negative/positive pick the natural one)."""
    if len(labels) != 2:
        return None
    if configured is not None:
        if configured not in labels:
            raise ValueError(f"positive_label {configured!r} is not one of {labels}")
        return configured
    return sorted(labels)[1]


def _averaged(gold, predicted, labels, names: list[str]) -> dict:
    result = {}
    for average in AVERAGES:
        p, r, f, _ = precision_recall_fscore_support(
            gold, predicted, labels=labels, average=average, zero_division=0
        )
        result |= {f"precision_{average}": p, f"recall_{average}": r, f"f1_{average}": f}
    p, r, f, support = precision_recall_fscore_support(
        gold, predicted, labels=labels, average=None, zero_division=0
    )
    result["per_class"] = [
        {
            "label": name,
            "support": int(s),
            "precision": float(pi),
            "recall": float(ri),
            "f1": float(fi),
        }
        for name, s, pi, ri, fi in zip(names, support, p, r, f, strict=True)
    ]
    return result


def classification_metrics(
    gold: list[str],
    predicted: list[str],
    space: LabelSpace | list[str],
    positive_label: str | None = None,
) -> dict:
    """Metrics of `predicted` against `gold` (label fields as written in the TSVs)."""
    if not isinstance(space, LabelSpace):
        space = LabelSpace(tuple(space))
    labels = list(space.labels)
    if space.multi_label:
        gold_hot, predicted_hot = space.targets(gold), space.targets(predicted)
        result = {"n": len(gold), "accuracy": float(accuracy_score(gold_hot, predicted_hot))}
        result |= _averaged(gold_hot, predicted_hot, list(range(len(labels))), labels)
        result["hamming_loss"] = float(hamming_loss(gold_hot, predicted_hot))
        result["labels_per_sample"] = {
            "gold": float(gold_hot.sum(1, dtype=np.float64).mean()),
            "predicted": float(predicted_hot.sum(1, dtype=np.float64).mean()),
        }
        return _plain(result)
    result = {"n": len(gold), "accuracy": float(accuracy_score(gold, predicted))}
    result |= _averaged(gold, predicted, labels, labels)
    positive = positive_label_of(labels, positive_label)
    if positive is not None:
        p, r, f, _ = precision_recall_fscore_support(
            gold, predicted, labels=[positive], average=None, zero_division=0
        )
        result |= {
            "positive_label": positive,
            "precision_positive": p[0],
            "recall_positive": r[0],
            "f1_positive": f[0],
        }
    result["confusion_matrix"] = {
        "labels": labels,
        "rows_gold_columns_predicted": confusion_matrix(gold, predicted, labels=labels).tolist(),
    }
    return _plain(result)


def _plain(result: dict) -> dict:
    return {k: float(v) if isinstance(v, np.generic) else v for k, v in result.items()}
