"""How sure a score is, and whether two models differ: bootstrap intervals over rows, paired
tests on the same rows, a two-level bootstrap over seeds and rows, McNemar's exact test and
Holm's correction.

Every test here resamples rows with `scipy.stats.bootstrap` (percentile intervals, seeded, so a
rerun gives the same numbers): the statistic is the metric itself, computed for a batch of
resampled row indices at once, so one call gives every metric's interval and, for a pair of
models scored on the same rows, the bootstrap distribution of their difference. McNemar's exact
test and Holm's correction come from statsmodels. The one step neither library has is the
seed level of the two-level bootstrap (draw seeds with replacement, then rows): it draws seed
indices with numpy on top of scipy's row resamples.

Predictions come as label codes: single-label, an int array of class indices (n,); multi-label,
a bool array (n, labels). `Scored` holds one model's predictions beside the gold labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from textclf.labels import LabelSpace
from textclf.metrics import positive_label_of

RESAMPLES = 1000
CONFIDENCE = 0.95
BATCH = 50  # resamples scored at once (memory: BATCH x rows x labels)


@dataclass(frozen=True)
class Scored:
    """Gold labels and one model's predictions on the same rows, as codes."""

    gold: np.ndarray
    predicted: np.ndarray
    n_labels: int
    positive: int | None = None  # the positive class of a binary task

    @property
    def multi_label(self) -> bool:
        return self.gold.ndim == 2

    @property
    def rows(self) -> int:
        return len(self.gold)


def scored_fields(
    space: LabelSpace, gold: Sequence[str], predicted: Sequence[str], positive_label=None
) -> Scored:
    """A model's predictions as codes, from label fields as the TSVs write them."""
    labels = list(space.labels)
    positive = positive_label_of(labels, positive_label) if not space.multi_label else None
    if space.multi_label:
        gold_codes, predicted_codes = space.targets(gold) > 0.5, space.targets(predicted) > 0.5
    else:
        gold_codes, predicted_codes = space.targets(gold), space.targets(predicted)
    return Scored(
        gold_codes,
        predicted_codes,
        len(labels),
        None if positive is None else labels.index(positive),
    )


def metric_names(scored: Scored) -> list[str]:
    """The metrics `scores` gives for these predictions, in its order."""
    names = ["accuracy"]
    for average in ("micro", "macro", "weighted"):
        names += [f"precision_{average}", f"recall_{average}", f"f1_{average}"]
    if scored.multi_label:
        names.append("hamming_loss")
    elif scored.positive is not None:
        names += ["precision_positive", "recall_positive", "f1_positive"]
    return names


def _ratio(numerator, denominator):
    """numerator / denominator, 0 where the denominator is 0 (scikit-learn's zero_division=0)."""
    numerator, denominator = np.broadcast_arrays(numerator, denominator)
    out = np.zeros(numerator.shape, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def scores(scored: Scored, idx: np.ndarray) -> np.ndarray:
    """Every metric of `metric_names` on the rows `idx` ((..., n) resampled row indices):
    an array (metrics, ...), equal to textclf.metrics' scikit-learn values on those rows."""
    idx = np.asarray(idx, dtype=np.int64)
    gold, predicted = scored.gold[idx], scored.predicted[idx]
    if scored.multi_label:  # (..., n, L)
        rows_axis = -2
        accuracy = (gold == predicted).all(-1).mean(-1)
        gold_hot, predicted_hot = gold, predicted
    else:  # (..., n) -> one-hot (..., n, L)
        rows_axis = -2
        accuracy = (gold == predicted).mean(-1)
        classes = np.arange(scored.n_labels)
        gold_hot = gold[..., None] == classes
        predicted_hot = predicted[..., None] == classes
    tp = (gold_hot & predicted_hot).sum(rows_axis)  # (..., L)
    support = gold_hot.sum(rows_axis)
    predicted_count = predicted_hot.sum(rows_axis)
    precision, recall = _ratio(tp, predicted_count), _ratio(tp, support)
    f1 = _ratio(2 * tp, support + predicted_count)
    result = [accuracy]
    micro_p = _ratio(tp.sum(-1), predicted_count.sum(-1))
    micro_r = _ratio(tp.sum(-1), support.sum(-1))
    result += [micro_p, micro_r, _ratio(2 * tp.sum(-1), support.sum(-1) + predicted_count.sum(-1))]
    result += [precision.mean(-1), recall.mean(-1), f1.mean(-1)]
    total = support.sum(-1)
    result += [_ratio((m * support).sum(-1), total) for m in (precision, recall, f1)]
    if scored.multi_label:
        result.append((gold != predicted).mean((-2, -1)))
    elif scored.positive is not None:
        result += [m[..., scored.positive] for m in (precision, recall, f1)]
    return np.stack(result)


def _bootstrap(statistic, rows: int, resamples: int, confidence: float, seed: int):
    return stats.bootstrap(
        (np.arange(rows),),
        statistic,
        n_resamples=resamples,
        confidence_level=confidence,
        method="percentile",
        vectorized=True,
        batch=BATCH,
        rng=np.random.default_rng(seed),
    )


def intervals(
    scored: Scored, resamples: int = RESAMPLES, confidence: float = CONFIDENCE, seed: int = 0
) -> dict[str, tuple[float, float]]:
    """Metric -> (low, high): its percentile bootstrap interval over rows."""
    result = _bootstrap(
        lambda idx, axis=-1: scores(scored, idx), scored.rows, resamples, confidence, seed
    )
    low, high = result.confidence_interval
    return {
        name: (float(lo), float(hi))
        for name, lo, hi in zip(metric_names(scored), low, high, strict=True)
    }


def _p_value(distribution: np.ndarray) -> np.ndarray:
    """Two-sided bootstrap p-value of a difference: twice the smaller share of resampled
    differences on either side of 0 (the least confidence level at which the percentile
    interval excludes 0), with the +1 correction, capped at 1. (..., resamples) -> (...)."""
    resamples = distribution.shape[-1]
    below = ((distribution <= 0).sum(-1) + 1) / (resamples + 1)
    above = ((distribution >= 0).sum(-1) + 1) / (resamples + 1)
    return np.minimum(1.0, 2 * np.minimum(below, above))


@dataclass(frozen=True)
class Difference:
    """One metric's difference a - b: its value, interval and bootstrap p-value."""

    metric: str
    difference: float
    low: float
    high: float
    p_bootstrap: float
    seeds: int = 1


def paired(
    a: Scored,
    b: Scored,
    metrics: Sequence[str],
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> list[Difference]:
    """Model a minus model b on the same rows: each metric's difference with its interval and
    p-value from a paired bootstrap (both scored on the same resampled rows)."""
    return seeded([a], [b], metrics, resamples, confidence, seed)


def seeded(
    a: Sequence[Scored],
    b: Sequence[Scored],
    metrics: Sequence[str],
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> list[Difference]:
    """The mean over seeds of model a minus model b (a[i] and b[i] trained with seed i, scored
    on the same rows). One seed: the paired bootstrap over rows. Several: a two-level
    bootstrap - rows resampled by scipy (the same rows for every seed and both models), then,
    for each resample, seeds drawn with replacement - so the interval holds the seeds'
    variance as well as the rows'."""
    if len(a) != len(b) or not a:
        raise ValueError(
            f"seeded comparison needs as many seeds of each model ({len(a)}, {len(b)})"
        )
    rows = a[0].rows
    if any(s.rows != rows for s in (*a, *b)):
        raise ValueError("every model of a comparison must be scored on the same rows")
    names = metric_names(a[0])
    chosen = [names.index(m) for m in metrics]

    def differences(idx, axis=-1):  # (seeds x metrics, ...)
        per_seed = [
            scores(x, idx)[chosen] - scores(y, idx)[chosen] for x, y in zip(a, b, strict=True)
        ]
        return np.concatenate(per_seed)

    whole = np.arange(rows)
    observed = differences(whole).reshape(len(a), len(chosen))  # (seeds, metrics)
    result = _bootstrap(differences, rows, resamples, confidence, seed)
    distribution = result.bootstrap_distribution.reshape(len(a), len(chosen), resamples)
    if len(a) > 1:  # the seed level: each resample of rows takes a resample of seeds
        draws = np.random.default_rng(seed + 1).integers(0, len(a), (resamples, len(a)))
        counts = np.stack([np.bincount(d, minlength=len(a)) for d in draws], axis=1)  # (seeds, R)
        distribution = (distribution * counts[:, None, :]).sum(0) / len(a)
    else:
        distribution = distribution[0]
    tail = (1 - confidence) / 2
    low = np.quantile(distribution, tail, axis=-1)
    high = np.quantile(distribution, 1 - tail, axis=-1)
    p = _p_value(distribution)
    return [
        Difference(
            metrics[i],
            float(observed[:, i].mean()),
            float(low[i]),
            float(high[i]),
            float(p[i]),
            len(a),
        )
        for i in range(len(chosen))
    ]


def mcnemar(a: Scored, b: Scored) -> float:
    """McNemar's exact test of two single-label models on the same rows (statsmodels): the
    p-value that the rows only one of them gets right split evenly."""
    from statsmodels.stats.contingency_tables import mcnemar as test

    right_a, right_b = a.gold == a.predicted, b.gold == b.predicted
    table = [
        [int((right_a & right_b).sum()), int((right_a & ~right_b).sum())],
        [int((~right_a & right_b).sum()), int((~right_a & ~right_b).sum())],
    ]
    return float(test(table, exact=True).pvalue)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down correction of one experiment's p-values (statsmodels)."""
    if not p_values:
        return []
    from statsmodels.stats.multitest import multipletests

    return [float(p) for p in multipletests(list(p_values), method="holm")[1]]


def over_seeds(values: Sequence[float]) -> dict[str, float]:
    """Mean, standard deviation (n - 1), min and max of one metric over seeds."""
    array = np.asarray(values, dtype=np.float64)
    sd = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return {
        "mean": float(array.mean()),
        "sd": sd,
        "min": float(array.min()),
        "max": float(array.max()),
    }
