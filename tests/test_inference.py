"""Mining, the stage-2 mix, metrics and prediction."""

import pandas as pd
import pytest
from conftest import demo_rows
from sklearn.metrics import f1_score, precision_score, recall_score

from textclf.finetuning import mix_for_stage2
from textclf.inference import Classifier
from textclf.metrics import classification_metrics, positive_label_of
from textclf.mining import PLAIN, MineSettings, mine_rows
from textclf.modeling import load_classifier
from textclf.training import TrainSettings, save_checkpoint, train

LABELS = ["INFORMATIVE", "UNINFORMATIVE"]
MINE_OFF = MineSettings(**PLAIN)


@pytest.fixture(scope="module")
def checkpoint(tiny_bert, tmp_path_factory):
    model, tokenizer = load_classifier(str(tiny_bert), LABELS)
    settings = TrainSettings(epochs=1, batch_size=16, unfreeze="none", learning_rate=1e-3)
    model, history = train(model, tokenizer, demo_rows("train"), demo_rows("valid"), settings)
    folder = tmp_path_factory.mktemp("ckpt") / "stage1"
    save_checkpoint(model, tokenizer, history, settings, folder, "stage1")
    return folder


def test_mining_returns_exactly_the_wrong_rows(checkpoint):
    # with every label check off, the hard rows are the rewrites the model gets wrong
    classifier = Classifier(checkpoint)
    rows = demo_rows("valid").assign(source_id=lambda f: f["id"])
    predicted = classifier.predict(rows["text"])["predicted"]
    wrong_ids = set(rows["id"][predicted.to_numpy() != rows["label"].to_numpy()])
    assert 0 < len(wrong_ids) < len(rows), "the test needs both right and wrong rows"
    hard, stats = mine_rows(classifier, rows, rows, MINE_OFF)
    assert set(hard["id"]) == wrong_ids
    assert (hard["predicted"] != hard["label"]).all() and (hard["kind"] == "error").all()
    assert hard["probability"].between(0.5, 1.0).all()
    assert stats["kept_errors"] == len(wrong_ids)
    assert stats["dropped_not_hard"] == len(rows) - len(wrong_ids)


def test_mining_nothing_yields_an_empty_table(checkpoint):
    empty = pd.DataFrame(columns=["id", "source_id", "text", "label"])
    hard, stats = mine_rows(Classifier(checkpoint), empty, empty, MINE_OFF)
    assert hard.empty and stats["considered"] == 0


@pytest.mark.parametrize("ratio, n_original", [(1.0, 10), (2.0, 20), (0.5, 5), (100.0, 40)])
def test_mix_ratio_holds(ratio, n_original):
    original = pd.DataFrame({"id": [f"o{i}" for i in range(40)], "text": "t", "label": "A"})
    hard = pd.DataFrame(
        {"id": [f"h{i}" for i in range(10)], "text": "t", "label": "B", "predicted": "A"}
    )
    mixed = mix_for_stage2(original, hard, ratio, seed=1)
    assert mixed["id"].str.startswith("h").sum() == 10
    assert mixed["id"].str.startswith("o").sum() == n_original
    assert mixed["id"].is_unique
    assert mixed.equals(mix_for_stage2(original, hard, ratio, seed=1))


def test_metrics_agree_with_scikit_learn():
    gold = ["a", "a", "b", "b", "b", "a", "b"]
    pred = ["a", "b", "b", "b", "a", "a", "b"]
    metrics = classification_metrics(gold, pred, ["a", "b"], positive_label="a")
    assert metrics["accuracy"] == pytest.approx(5 / 7)
    assert metrics["f1_macro"] == pytest.approx(f1_score(gold, pred, average="macro"))
    assert metrics["f1_weighted"] == pytest.approx(f1_score(gold, pred, average="weighted"))
    assert metrics["precision_positive"] == pytest.approx(
        precision_score(gold, pred, pos_label="a")
    )
    assert metrics["recall_positive"] == pytest.approx(recall_score(gold, pred, pos_label="a"))
    assert metrics["confusion_matrix"]["rows_gold_columns_predicted"] == [[2, 1], [1, 3]]


def test_positive_label_defaults_to_the_natural_one():
    assert positive_label_of(["0", "1"], None) == "1"
    assert positive_label_of(["negative", "positive"], None) == "positive"
    assert positive_label_of(["INFORMATIVE", "UNINFORMATIVE"], "INFORMATIVE") == "INFORMATIVE"
    assert positive_label_of(["a", "b", "c"], None) is None
    with pytest.raises(ValueError, match="not one of"):
        positive_label_of(["a", "b"], "c")
