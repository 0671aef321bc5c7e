"""Bootstrap intervals, paired tests, the two-level bootstrap over seeds, McNemar and Holm
(textclf.significance) on synthetic predictions whose truth is known."""

import numpy as np
import pytest
from scipy import stats

from textclf import significance
from textclf.labels import LabelSpace
from textclf.metrics import classification_metrics
from textclf.significance import Scored


def synthetic(rows: int, accuracy: float, seed: int, labels: int = 2) -> Scored:
    """Predictions right on a share `accuracy` of rows (in expectation), wrong labels uniform."""
    rng = np.random.default_rng(seed)
    gold = rng.integers(0, labels, rows)
    right = rng.random(rows) < accuracy
    wrong = (gold + rng.integers(1, labels, rows)) % labels
    return Scored(gold, np.where(right, gold, wrong), labels, positive=1 if labels == 2 else None)


def with_fixed(scored: Scored, count: int) -> Scored:
    """The same predictions with the first `count` errors corrected."""
    predicted = scored.predicted.copy()
    errors = np.flatnonzero(predicted != scored.gold)[:count]
    predicted[errors] = scored.gold[errors]
    return Scored(scored.gold, predicted, scored.n_labels, scored.positive)


def test_intervals_cover_the_true_accuracy_at_about_their_level():
    covered = 0
    for seed in range(40):
        low, high = significance.intervals(synthetic(500, 0.8, seed), seed=seed)["accuracy"]
        covered += low <= 0.8 <= high
    # 95 % intervals: 40 draws cover 0.8 at least 33 times unless the coverage is far below 95 %
    # (binomial(40, 0.95) < 33 has probability 0.0006)
    assert covered >= 33


def test_intervals_shrink_as_one_over_the_root_of_the_rows():
    widths = {}
    for rows in (400, 1600, 6400):
        low, high = significance.intervals(synthetic(rows, 0.8, 1))["accuracy"]
        widths[rows] = high - low
    assert 1.6 < widths[400] / widths[1600] < 2.5
    assert 1.6 < widths[1600] / widths[6400] < 2.5
    # and about the normal approximation's width, 2 x 1.96 x sqrt(p (1 - p) / n)
    assert widths[1600] == pytest.approx(2 * 1.96 * np.sqrt(0.8 * 0.2 / 1600), rel=0.2)


def test_intervals_are_identical_on_a_rerun_and_move_with_the_seed():
    scored = synthetic(300, 0.7, 2, labels=3)
    first = significance.intervals(scored, seed=5)
    assert significance.intervals(scored, seed=5) == first
    assert significance.intervals(scored, seed=6) != first
    assert set(first) == set(significance.metric_names(scored))
    for name, (low, high) in first.items():
        value = significance.scores(scored, np.arange(scored.rows))[
            significance.metric_names(scored).index(name)
        ]
        assert low <= value <= high, name


@pytest.mark.parametrize("labels", [2, 4])
def test_scores_equal_scikit_learn_metrics(labels):
    scored = synthetic(250, 0.6, 3, labels)
    names = [f"c{i}" for i in range(labels)]
    expected = classification_metrics(
        [names[i] for i in scored.gold], [names[i] for i in scored.predicted], names
    )
    rows = np.arange(scored.rows)
    for name, value in zip(
        significance.metric_names(scored), significance.scores(scored, rows), strict=True
    ):
        assert value == pytest.approx(expected[name], abs=1e-12), name


def test_scores_equal_scikit_learn_metrics_for_multi_label():
    rng = np.random.default_rng(4)
    space = LabelSpace(("a", "b", "c"), "multi_label")
    gold = rng.random((200, 3)) < 0.4
    predicted = np.where(rng.random((200, 3)) < 0.8, gold, ~gold)
    predicted[0] = False  # a row predicted with no label
    scored = Scored(gold, predicted, 3)
    expected = classification_metrics(
        [space.decode(row) for row in gold], [space.decode(row) for row in predicted], space
    )
    values = significance.scores(scored, np.arange(200))
    for name, value in zip(significance.metric_names(scored), values, strict=True):
        assert value == pytest.approx(expected[name], abs=1e-12), name


def test_a_model_against_itself_differs_by_nothing():
    scored = synthetic(400, 0.75, 5)
    for difference in significance.paired(scored, scored, ["accuracy", "f1_macro"]):
        assert (difference.difference, difference.low, difference.high) == (0, 0, 0)
        assert difference.p_bootstrap == 1
    assert significance.mcnemar(scored, scored) == 1


def test_fixing_30_of_200_errors_is_significant():
    base = synthetic(1000, 0.8, 6)
    assert (base.predicted != base.gold).sum() == pytest.approx(200, abs=30)
    better = with_fixed(base, 30)
    accuracy, f1 = significance.paired(better, base, ["accuracy", "f1_macro"])
    assert accuracy.difference == pytest.approx(0.03)
    assert 0 < accuracy.low < 0.03 < accuracy.high
    assert accuracy.p_bootstrap < 0.01 and f1.p_bootstrap < 0.01
    assert significance.mcnemar(better, base) < 0.01
    # three fixed errors are not
    (small,) = significance.paired(with_fixed(base, 3), base, ["accuracy"])
    assert small.low <= 0 and small.p_bootstrap > 0.05


def test_mcnemar_matches_a_hand_computed_table():
    # 7 rows only a gets right, 2 only b: the exact two-sided p is
    # 2 * P(X <= 2 | X ~ binomial(9, 1/2)) = 2 * (1 + 9 + 36) / 512
    gold = np.zeros(30, dtype=int)
    a = np.zeros(30, dtype=int)
    b = np.zeros(30, dtype=int)
    a[:2] = 1  # a wrong on rows 0-1
    b[2:9] = 1  # b wrong on rows 2-8
    b[20:25] = a[20:25] = 1  # both wrong on 5 rows
    p = significance.mcnemar(Scored(gold, a, 2), Scored(gold, b, 2))
    assert p == pytest.approx(92 / 512)
    assert p == pytest.approx(stats.binomtest(2, 9, 0.5).pvalue)


def test_two_level_bootstrap_widens_when_seeds_disagree():
    base = synthetic(800, 0.7, 7)
    agreeing = [with_fixed(base, 16)] * 3
    disagreeing = [with_fixed(base, 0), with_fixed(base, 16), with_fixed(base, 32)]
    (same,) = significance.seeded(agreeing, [base] * 3, ["accuracy"])
    (spread,) = significance.seeded(disagreeing, [base] * 3, ["accuracy"])
    assert same.difference == pytest.approx(0.02) and spread.difference == pytest.approx(0.02)
    assert spread.seeds == 3
    assert spread.high - spread.low > 1.2 * (same.high - same.low)
    # with identical seeds the two-level bootstrap is the one-level one
    (one,) = significance.paired(agreeing[0], base, ["accuracy"])
    assert same.high - same.low == pytest.approx(one.high - one.low, rel=0.15)


def test_paired_bootstrap_works_for_multi_label_macro_f1():
    rng = np.random.default_rng(8)
    gold = rng.random((300, 4)) < 0.3
    worse = np.where(rng.random((300, 4)) < 0.7, gold, ~gold)
    better = np.where(rng.random((300, 4)) < 0.5, gold, worse)
    (difference,) = significance.paired(
        Scored(gold, better, 4), Scored(gold, worse, 4), ["f1_macro"]
    )
    assert difference.difference > 0 and difference.low > 0 and difference.p_bootstrap < 0.01


def test_mismatched_comparisons_are_refused():
    with pytest.raises(ValueError, match="same rows"):
        significance.paired(synthetic(10, 0.5, 0), synthetic(11, 0.5, 0), ["accuracy"])
    with pytest.raises(ValueError, match="as many seeds"):
        significance.seeded([synthetic(10, 0.5, 0)], [], ["accuracy"])


def test_holm_matches_a_hand_computed_correction():
    # sorted: 0.01 x 3 = 0.03; 0.03 x 2 = 0.06; 0.04 x 1 = 0.04, raised to 0.06 (monotone)
    assert significance.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert significance.holm([]) == []


def test_over_seeds():
    summary = significance.over_seeds([0.8, 0.9, 0.85])
    assert summary == pytest.approx({"mean": 0.85, "sd": 0.05, "min": 0.8, "max": 0.9})
    assert significance.over_seeds([0.5])["sd"] == 0
