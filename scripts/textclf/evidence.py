"""What the experiment's comparisons show, with their uncertainty: `significance.tsv` (every
comparison the registry names, on valid and labelled test, in the selection metric and
accuracy: the difference with its interval, the paired bootstrap's p-value, McNemar's exact
p-value, Holm's correction and a verdict), the sentences the report opens with, and each
model's scores per seed with their intervals.

It reads what `evaluate` wrote of every model of every seed: the metrics JSON (scores and
their bootstrap intervals) and the predictions TSV (every labelled row's gold and predicted
label), which the paired tests resample (textclf.significance).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from textclf import significance
from textclf.labels import LabelSpace
from textclf.metrics import selection_metric
from textclf.significance import Scored
from textclf.tsv import read_tsv, write_text

log = logging.getLogger(__name__)
SPLITS = ("valid", "test")
COLUMNS = [
    "comparison",
    "a",
    "b",
    "split",
    "metric",
    "a_score",
    "b_score",
    "difference",
    "low",
    "high",
    "p_bootstrap",
    "p_mcnemar",
    "p_holm",
    "seeds",
    "seeds_for_power",
    "verdict",
]
NAMES = {"stage1": "stage 1", "finetuned": "stage 2", "tfidf": "TF-IDF", "scratch": "scratch"}
POWER = 0.8  # the power `seeds_for_power` aims at


def display(model: str) -> str:
    """A model's name in a sentence: stage 1, stage 2, TF-IDF, ..., the compressed kinds as
    they are called."""
    return NAMES.get(model, model)


def read_scored(predictions_tsv, space: LabelSpace, positive_label=None) -> dict[str, Scored]:
    """Split -> a model's predictions on it, as codes (from evaluate's predictions TSV)."""
    table = read_tsv(predictions_tsv)
    return {
        split: significance.scored_fields(
            space, rows["label"].tolist(), rows["predicted"].tolist(), positive_label
        )
        for split, rows in table.groupby("split", sort=False)
    }


def _seeds_for_power(per_seed: np.ndarray, alpha: float) -> float:
    """Seeds a paired t-test over seeds would need to find a mean difference of the observed
    size with 80 % power (statsmodels); NaN with one seed or no seed variance."""
    if len(per_seed) < 2 or per_seed.std(ddof=1) == 0 or per_seed.mean() == 0:
        return math.nan
    from statsmodels.stats.power import TTestPower

    effect = abs(per_seed.mean()) / per_seed.std(ddof=1)
    try:
        needed = float(TTestPower().solve_power(effect_size=effect, alpha=alpha, power=POWER))
    except (ValueError, RuntimeError):  # no solution in the solver's range
        return math.nan
    return float(math.ceil(max(needed, 2))) if math.isfinite(needed) else math.nan


def significance_table(
    runs: dict,
    comparisons: list[tuple[str, str]],
    space: LabelSpace,
    configured_metric: str,
    evaluation: dict,
    positive_label=None,
) -> pd.DataFrame:
    """Every comparison a - b on each labelled split, in the selection metric and accuracy.

    `runs`: seed -> model -> {"predictions": TSV, ...}, the first seed first. A comparison
    uses the seeds that have both models (the ensemble exists once: it is compared with the
    first seed's model it averages); with several, the two-level bootstrap."""
    metrics = list(dict.fromkeys([selection_metric(configured_metric, space), "accuracy"]))
    resampling = {k: evaluation[k] for k in ("resamples", "confidence", "seed")}
    scored = {
        (seed, model): read_scored(files["predictions"], space, positive_label)
        for seed, models in runs.items()
        for model, files in models.items()
    }
    rows = []
    for a, b in comparisons:
        seeds = [seed for seed, models in runs.items() if a in models and b in models]
        for split in SPLITS:
            if not all(split in scored[(seed, a)] for seed in seeds):
                continue  # test without labels
            first_a, first_b = [scored[(seed, m)][split] for m in (a, b) for seed in seeds[:1]]
            found = significance.seeded(
                [scored[(seed, a)][split] for seed in seeds],
                [scored[(seed, b)][split] for seed in seeds],
                metrics,
                **resampling,
            )
            names = significance.metric_names(first_a)
            whole = np.arange(first_a.rows)
            for difference in found:
                index = names.index(difference.metric)
                score = {
                    m: np.mean(
                        [significance.scores(scored[(s, m)][split], whole)[index] for s in seeds]
                    )
                    for m in (a, b)
                }
                per_seed = np.array(
                    [
                        significance.scores(scored[(s, a)][split], whole)[index]
                        - significance.scores(scored[(s, b)][split], whole)[index]
                        for s in seeds
                    ]
                )
                mcnemar = (
                    significance.mcnemar(first_a, first_b)
                    if difference.metric == "accuracy" and not space.multi_label
                    else math.nan
                )
                rows.append(
                    {
                        "comparison": f"{a} vs {b}",
                        "a": a,
                        "b": b,
                        "split": split,
                        "metric": difference.metric,
                        "a_score": score[a],
                        "b_score": score[b],
                        "difference": difference.difference,
                        "low": difference.low,
                        "high": difference.high,
                        "p_bootstrap": difference.p_bootstrap,
                        "p_mcnemar": mcnemar,
                        "seeds": difference.seeds,
                        "seeds_for_power": _seeds_for_power(per_seed, evaluation["alpha"]),
                    }
                )
    table = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("p_holm", "verdict")])
    table["p_holm"] = math.nan
    for split in SPLITS:  # one family per split: every comparison and metric on it
        on_split = table["split"] == split
        table.loc[on_split, "p_holm"] = significance.holm(
            table.loc[on_split, "p_bootstrap"].tolist()
        )
    table["verdict"] = [
        verdict(row.difference, row.p_holm, evaluation["alpha"]) for row in table.itertuples()
    ]
    return table[COLUMNS]


def verdict(difference: float, p_holm: float, alpha: float) -> str:
    if p_holm < alpha and difference != 0:
        return "higher" if difference > 0 else "lower"
    return "no significant difference"


def _points(value: float) -> str:
    return f"{100 * value:+.1f}"


def _p(value: float) -> str:
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def sentences(table: pd.DataFrame, confidence: float) -> list[str]:
    """One sentence per comparison a reader can act on, on valid (and test where it has
    labels), in the selection metric: e.g. "Stage 2 vs stage 1, valid accuracy: +0.4 points
    (95 % CI -0.6 to +1.4), 5 seeds, p = 0.41 (Holm: 0.82) - no significant difference."."""
    level = f"{100 * confidence:g} %"
    found = []
    for _, rows in table.groupby("comparison", sort=False):
        for split, on_split in rows.groupby("split", sort=False):
            row = on_split.iloc[0]  # the selection metric comes first
            a, b = display(row["a"]), display(row["b"])
            seeds = f"{row['seeds']} seed{'s' if row['seeds'] > 1 else ''}"
            if row["verdict"] == "no significant difference":
                outcome = "no significant difference"
            else:
                outcome = (
                    f"{a} is significantly {'better' if row['verdict'] == 'higher' else 'worse'}"
                )
            found.append(
                f"{a[0].upper()}{a[1:]} vs {b}, {split} {row['metric']}: "
                f"{_points(row['difference'])} points ({level} CI {_points(row['low'])} to "
                f"{_points(row['high'])}), {seeds}, {_p(row['p_bootstrap'])} "
                f"(Holm: {row['p_holm']:.3f}) - {outcome}."
            )
    return found


def scores_by_seed(runs: dict, metric: str, split: str = "valid") -> pd.DataFrame:
    """model, seed, score and its interval: every model of every seed on `split` (from the
    metrics JSON `evaluate` wrote)."""
    rows = []
    for seed, models in runs.items():
        for model, files in models.items():
            values = json.loads(Path(files["metrics"]).read_text()).get(split)
            if values is None:
                continue
            low, high = values.get("intervals", {}).get(metric, (math.nan, math.nan))
            rows.append(
                {"model": model, "seed": seed, "score": values[metric], "low": low, "high": high}
            )
    return pd.DataFrame(rows, columns=["model", "seed", "score", "low", "high"])


def write_significance(table: pd.DataFrame, out_tsv, confidence: float) -> None:
    shown = table.copy()
    numeric = ["a_score", "b_score", "difference", "low", "high"]
    shown[numeric] = shown[numeric].round(4)
    for column in ("p_bootstrap", "p_mcnemar", "p_holm"):
        shown[column] = shown[column].map(lambda p: "" if math.isnan(p) else f"{p:.4g}")
    shown["seeds_for_power"] = shown["seeds_for_power"].map(
        lambda n: "" if math.isnan(n) else str(int(n))
    )
    write_text(shown.to_csv(sep="\t", index=False), out_tsv)
    for sentence in sentences(table, confidence):
        log.info("%s", sentence)
