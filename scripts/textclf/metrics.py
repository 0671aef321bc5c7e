"""Classification metrics, computed with scikit-learn, as plain JSON-ready dicts."""

from __future__ import annotations

from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

SELECTABLE = ("accuracy", "f1_macro", "f1_weighted", "f1_positive")


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


def classification_metrics(
    gold: list[str], predicted: list[str], labels: list[str], positive_label: str | None = None
) -> dict:
    result = {"n": len(gold), "accuracy": float(accuracy_score(gold, predicted))}
    for average in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(
            gold, predicted, labels=labels, average=average, zero_division=0
        )
        result |= {f"precision_{average}": p, f"recall_{average}": r, f"f1_{average}": f}
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
    return {k: float(v) if hasattr(v, "item") else v for k, v in result.items()}
