"""Baselines from scratch and TF-IDF, and the comparison table."""

import json

import pytest
from conftest import DEMO, EMOTIONS

from textclf.baselines import Vocabulary, run_baseline, tokenize
from textclf.comparison import comparison_table
from textclf.inference import evaluate_splits
from textclf.labels import MULTI, LabelSpace
from textclf.prepare import stratified_sample
from textclf.registry import footprint, load_predictor
from textclf.tsv import read_tsv, write_tsv


def test_tokenizer_and_vocabulary():
    assert tokenize("Don't PANIC: 12 cases!") == ["don't", "panic", ":", "12", "cases", "!"]
    vocab = Vocabulary.build(["a b b c", "b c d", "c"], min_freq=2, max_size=4)
    assert vocab.tokens == ["<pad>", "<unk>", "b", "c"]  # b and c 3 times each, a and d once
    ids = vocab.encode(["c b z", "b b b b b"], max_length=4)
    assert ids.tolist() == [[3, 2, 1, 0], [2, 2, 2, 2]]


@pytest.fixture(scope="module")
def binary(tmp_path_factory):
    folder = tmp_path_factory.mktemp("binary")
    (folder / "dataset.json").write_text(
        json.dumps(LabelSpace(("INFORMATIVE", "UNINFORMATIVE")).to_json())
    )
    return folder, DEMO / "train.tsv", DEMO / "valid.tsv"


@pytest.fixture(scope="module")
def multilabel(tmp_path_factory):
    folder = tmp_path_factory.mktemp("multi")
    rows = read_tsv(EMOTIONS / "train.tsv").rename(columns={"labels": "label"})
    train, valid = stratified_sample(rows, 0.25, seed=0, source="train.tsv")
    write_tsv(train, folder / "train.tsv")
    write_tsv(valid, folder / "valid.tsv")
    space = LabelSpace(("anger", "gratitude", "humour", "relief", "worry"), MULTI)
    (folder / "dataset.json").write_text(json.dumps(space.to_json()))
    return folder, folder / "train.tsv", folder / "valid.tsv"


@pytest.mark.parametrize("kind", ["scratch", "tfidf"])
@pytest.mark.parametrize(
    "task, metric, chance", [("binary", "accuracy", 0.5), ("multilabel", "f1_macro", 0.4)]
)
def test_baselines_beat_chance_and_are_deterministic(request, kind, task, metric, chance):
    folder, train_tsv, valid_tsv = request.getfixturevalue(task)
    results = []
    for run in ("a", "b"):
        out = folder / f"{kind}-{run}"
        run_baseline(kind, train_tsv, valid_tsv, folder / "dataset.json", {}, out)
        predictor = load_predictor(out)
        metrics, probabilities, _ = evaluate_splits(predictor, {"valid": read_tsv(valid_tsv)})
        results.append((metrics["valid"][metric], probabilities))
    (score_a, probabilities_a), (score_b, probabilities_b) = results
    # chance: the majority class (binary demo: 0.5), or F1 of predicting every label (0.4)
    assert score_a > chance + 0.25, score_a
    assert score_a == score_b
    assert probabilities_a.equals(probabilities_b)
    info = footprint(folder / f"{kind}-a")
    assert info["parameters"] > 0 and info["size_bytes"] > 0


def test_comparison_table_has_one_row_per_model(tmp_path):
    files, second = {}, {}
    for model, accuracy in [("tfidf", 0.8), ("stage1", 0.9)]:
        per_class = [
            {"label": "a", "f1": accuracy, "support": 3, "precision": 1, "recall": 1},
            {"label": "b", "f1": 0.5, "support": 2, "precision": 1, "recall": 1},
        ]
        metrics = {
            "valid": {
                "accuracy": accuracy,
                "f1_macro": 0.7,
                "f1_micro": 0.8,
                "precision_macro": 0.75,
                "recall_macro": 0.65,
                "per_class": per_class,
                "intervals": {
                    "accuracy": [accuracy - 0.1, accuracy + 0.05],
                    "f1_macro": [0.6, 0.8],
                },
            },
            "parameters": 100,
            "size_bytes": 2_000_000,
            "train_seconds": 3.5,
        }
        files[model] = tmp_path / f"{model}.json"
        files[model].write_text(json.dumps(metrics))
        metrics["valid"]["accuracy"] += 0.02  # the same model trained with another seed
        second[model] = tmp_path / f"{model}_seed43.json"
        second[model].write_text(json.dumps(metrics))
    speed = tmp_path / "speed.tsv"
    speed.write_text("model\tlatency_ms\ttexts_per_second\nstage1\t2.5\t400\ntfidf\t0.2\t5000\n")
    table = comparison_table(files, speed)
    assert table["model"].tolist() == ["tfidf", "stage1"]
    assert table.columns.tolist() == [
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
        "accuracy_low",
        "accuracy_high",
        "f1_macro_low",
        "f1_macro_high",
        "f1_a",
        "f1_b",
    ]
    assert table["f1_a"].tolist() == [0.8, 0.9] and table["size_mb"].tolist() == [2.0, 2.0]
    assert table["texts_per_second"].tolist() == [5000, 400]  # by model, not by row order
    assert table["accuracy_low"].tolist() == [0.7, 0.8]
    # with two seeds: the first seed's scores, and the mean, sd, min and max over both
    runs = {
        42: {m: {"metrics": f} for m, f in files.items()},
        43: {m: {"metrics": f} for m, f in second.items()},
    }
    seeded = comparison_table(files, speed, runs).set_index("model")
    assert seeded.loc["stage1", "accuracy"] == 0.9 and seeded.loc["stage1", "seeds"] == 2
    assert seeded.loc["stage1", "accuracy_mean"] == pytest.approx(0.91)
    assert seeded.loc["stage1", "accuracy_sd"] == pytest.approx(0.0141, abs=1e-4)
    assert seeded.loc["tfidf", ["accuracy_min", "accuracy_max"]].tolist() == [0.8, 0.82]
