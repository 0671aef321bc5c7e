"""Multi-label: label sets, thresholds, training with BCE, threshold reuse, mining, metrics."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import EMOTIONS
from sklearn.metrics import accuracy_score, f1_score, hamming_loss, precision_recall_fscore_support

from textclf import thresholds
from textclf.finetuning import run_stage1
from textclf.inference import Classifier, per_class_table
from textclf.labels import MULTI, SINGLE, LabelSpace, infer_problem_type
from textclf.metrics import classification_metrics
from textclf.modeling import init_prior_bias, label_space, load_classifier, output_layer
from textclf.predictor import Predictor
from textclf.prepare import stratified_sample
from textclf.training import TrainSettings, loss_function
from textclf.tsv import read_tsv, write_tsv

FEELINGS = ("anger", "gratitude", "humour", "relief", "worry")
SPACE = LabelSpace(FEELINGS, MULTI, ",")


def test_label_sets_round_trip_in_canonical_order():
    assert SPACE.split("worry, anger") == ["worry", "anger"]
    assert SPACE.join(["worry", "anger", "worry"]) == "anger,worry"
    hot = SPACE.targets(["anger,worry", "relief"])
    assert hot.tolist() == [[1, 0, 0, 0, 1], [0, 0, 0, 1, 0]]
    assert [SPACE.decode(row > 0) for row in hot] == ["anger,worry", "relief"]
    assert LabelSpace(("a", "b")).targets(["b", "a"]).tolist() == [1, 0]


def test_problem_type_is_inferred_only_when_unambiguous():
    assert infer_problem_type("auto", ["a", "a,b"], ",") == MULTI
    assert infer_problem_type("auto", ["a", "b"], ",") == SINGLE
    assert infer_problem_type("multi_label", ["a", "b"], ",") == MULTI
    assert infer_problem_type("single_label", ["a,b"], ",") == SINGLE
    assert infer_problem_type("auto", ["Sci/Tech", "World"], ",") == SINGLE


def test_every_row_gets_at_least_one_label():
    probabilities = np.array([[0.9, 0.2, 0.6], [0.1, 0.3, 0.2], [0.2, 0.1, 0.1]])
    predicted = thresholds.apply_thresholds(probabilities, 0.5)
    assert predicted.tolist() == [[True, False, True], [False, True, False], [True, False, False]]


def test_thresholds_are_tuned_per_class_and_change_predictions():
    # Class 0 is separated at 0.3, class 1 at 0.7: one global threshold cannot get both right.
    gold = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [1, 1], [0, 1]], dtype=bool)
    probabilities = np.array(
        [[0.35, 0.5], [0.40, 0.6], [0.20, 0.80], [0.10, 0.90], [0.45, 0.75], [0.05, 0.85]]
    )
    per_class = thresholds.tune_per_class(probabilities, gold, fallback=0.5)
    assert 0.20 < per_class[0] <= 0.35 and 0.60 < per_class[1] <= 0.75
    tuned = thresholds.apply_thresholds(probabilities, per_class)
    assert (tuned == gold).all()
    best_global = thresholds.tune_global(probabilities, gold)
    assert not (thresholds.apply_thresholds(probabilities, best_global) == gold).all()
    record = thresholds.tune(probabilities, gold, ["a", "b"], "per_class")
    assert thresholds.chosen(record, ["a", "b"]).tolist() == per_class.tolist()
    assert thresholds.chosen({**record, "use": "global"}, ["a", "b"]).tolist() == [best_global] * 2
    assert thresholds.chosen({**record, "use": 0.3}, ["a", "b"]).tolist() == [0.3, 0.3]


def test_epoch_score_uses_the_global_threshold_best_on_valid():
    # Both labels separate at 0.3: the default 0.5 would miss every "b"; the tuned one gets all.
    space = LabelSpace(("a", "b"), MULTI, ",")
    gold = ["a", "a,b", "b", "b"]
    probabilities = np.array([[0.9, 0.1], [0.8, 0.4], [0.1, 0.35], [0.2, 0.45]])
    scored = thresholds.score_on_valid(space, probabilities, gold, "f1_macro")
    assert scored["accuracy"] == 1.0 and scored["f1_macro"] == 1.0
    assert thresholds.average_for("f1_micro") == "micro"
    assert thresholds.average_for("f1_macro") == thresholds.average_for("accuracy") == "macro"
    single = LabelSpace(("neg", "pos"), SINGLE)
    scored = thresholds.score_on_valid(
        single, probabilities, ["neg", "neg", "pos", "neg"], "accuracy"
    )
    assert scored["accuracy"] == 0.75  # the arg-max label, no threshold


def test_a_new_multilabel_head_starts_at_the_label_priors(tiny_bert):
    # 28 labels, one common and the rest rare, as in GoEmotions: a zero bias starts every
    # label at 0.5; the prior start is already at the loss of predicting the priors.
    labels = tuple(f"e{k}" for k in range(28))
    space = LabelSpace(labels, MULTI, ",")
    fields = ["e0"] * 60 + [f"e{1 + k % 27}" for k in range(40)]
    targets = torch.tensor(space.targets(fields))
    model, tokenizer = load_classifier(str(tiny_bert), space)
    batch = tokenizer(["some text"] * len(fields), return_tensors="pt")
    loss = torch.nn.functional.binary_cross_entropy_with_logits
    with torch.no_grad():
        before = loss(model(**batch).logits, targets).item()
        init_prior_bias(model, targets.numpy())
        after = loss(model(**batch).logits, targets).item()
        mean_probability = model(**batch).logits.sigmoid().mean(0)
    rate = (targets.sum(0) + 0.5) / (len(fields) + 1)
    assert torch.allclose(output_layer(model).bias, torch.log(rate / (1 - rate)), atol=1e-6)
    assert mean_probability[0] > 0.5 > 0.1 > mean_probability[1:].max()
    assert before > 0.6 and after < 0.2


def test_losses_follow_the_configured_weights():
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, -0.3]])
    targets = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    space = LabelSpace(("a", "b", "c"), MULTI)

    def mean(loss, logits, gold):
        total, weight = loss(logits, gold)
        return total.item() / weight

    plain = mean(loss_function(space, TrainSettings(), targets, "cpu"), logits, targets)
    assert plain == pytest.approx(torch.nn.BCEWithLogitsLoss()(logits, targets).item())
    weighted = loss_function(space, TrainSettings(pos_weight=True), targets, "cpu")
    pos_weight = torch.tensor([0.0, 1.0, 2.0])  # negatives / positives, zero positives -> /1
    expected = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)(logits, targets)
    assert mean(weighted, logits, targets) == pytest.approx(expected.item())

    single = LabelSpace(("a", "b", "c"))
    ids = torch.tensor([0, 0, 0, 1])
    class_logits = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
    weights = torch.tensor([4 / 9, 4 / 3, 4 / 3])  # n / (k * count), absent class -> count 1
    expected = torch.nn.functional.cross_entropy(class_logits, ids, weight=weights)
    balanced = loss_function(single, TrainSettings(class_weights=True), ids, "cpu")
    assert mean(balanced, class_logits, ids) == pytest.approx(expected.item())


@pytest.fixture(scope="module")
def emotion_rows():
    train = read_tsv(EMOTIONS / "train.tsv").rename(columns={"labels": "label"})
    return stratified_sample(train, 0.2, seed=0, source="train.tsv")


@pytest.fixture(scope="module")
def multilabel_checkpoint(tiny_bert, emotion_rows, tmp_path_factory):
    folder = tmp_path_factory.mktemp("multilabel")
    train, valid = emotion_rows
    write_tsv(train, folder / "train.tsv")
    write_tsv(valid, folder / "valid.tsv")
    (folder / "dataset.json").write_text(json.dumps(SPACE.to_json()))
    settings = {"epochs": 3, "batch_size": 16, "unfreeze": "none", "learning_rate": 3e-3}
    run_stage1(
        str(tiny_bert),
        folder / "train.tsv",
        folder / "valid.tsv",
        folder / "dataset.json",
        settings,
        folder / "stage1",
    )
    return folder / "stage1"


def test_multilabel_training_saves_sigmoid_model_and_thresholds(multilabel_checkpoint):
    model, _ = load_classifier(str(multilabel_checkpoint))
    assert label_space(model) == SPACE
    assert model.config.problem_type == "multi_label_classification"
    record = thresholds.load(multilabel_checkpoint)
    assert record["use"] == "per_class" and set(record["per_class"]) == set(FEELINGS)
    history = read_tsv(multilabel_checkpoint / "history.tsv")
    assert "valid_f1_macro" in history and len(history) == 3
    assert float(history["valid_f1_macro"].max()) > 0.5  # learnt, not chance


def test_predict_reuses_the_saved_thresholds(multilabel_checkpoint, emotion_rows, tmp_path):
    import shutil

    texts = emotion_rows[1]["text"]
    classifier = Classifier(multilabel_checkpoint)
    probabilities = classifier.probabilities(texts)
    record = thresholds.load(multilabel_checkpoint)
    expected = thresholds.apply_thresholds(probabilities, thresholds.chosen(record, SPACE.labels))
    assert classifier.predict(texts)["predicted"].tolist() == [SPACE.decode(r) for r in expected]

    strict = tmp_path / "strict"
    shutil.copytree(multilabel_checkpoint, strict)
    thresholds.save({**record, "use": 0.999}, strict)
    labels_per_row = Classifier(strict).predict(texts)["predicted"].str.count(",") + 1
    assert (labels_per_row == 1).all()  # nothing passes: each row keeps its top label
    thresholds.save({**record, "use": 0.001}, strict)
    assert (Classifier(strict).predict(texts)["predicted"] == ",".join(FEELINGS)).all()


def test_multilabel_mining_keeps_rows_whose_set_differs():
    from textclf.mining import PLAIN, MineSettings, mine_rows

    class Fixed(Predictor):
        space, thresholds = LabelSpace(("anger", "relief", "worry"), MULTI), np.full(3, 0.5)

        def probabilities(self, texts):
            table = {  # predicted: anger,worry / anger / relief / anger,relief
                "w": [0.9, 0.1, 0.8],
                "x": [0.8, 0.1, 0.2],
                "y": [0.1, 0.7, 0.2],
                "z": [0.6, 0.7, 0.1],
            }
            return np.array([table[t] for t in texts])

    augmented = pd.DataFrame(
        {
            "id": ["a1", "a2", "a3", "a4"],
            "source_id": ["s1", "s2", "s3", "s4"],
            "text": ["w", "x", "y", "z"],
            "label": ["anger,worry", "worry,anger", "relief", "relief"],
        }
    )
    sources = augmented.assign(id=augmented["source_id"])
    hard, stats = mine_rows(Fixed(), augmented, sources, MineSettings(**PLAIN))
    assert hard["id"].tolist() == ["a2", "a4"]
    assert hard["predicted"].tolist() == ["anger", "anger,relief"]
    assert stats["kept_errors"] == 2 and stats["dropped_not_hard"] == 2


def test_multilabel_metrics_agree_with_scikit_learn():
    gold = ["anger,worry", "relief", "humour", "gratitude,relief", "worry"]
    predicted = ["anger", "relief", "humour,worry", "gratitude,relief", "anger"]
    metrics = classification_metrics(gold, predicted, SPACE)
    y_true, y_pred = SPACE.targets(gold), SPACE.targets(predicted)
    assert metrics["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred)) == 0.4
    assert metrics["hamming_loss"] == pytest.approx(hamming_loss(y_true, y_pred)) == 4 / 25
    for average in ("micro", "macro", "weighted"):
        expected = f1_score(y_true, y_pred, average=average, zero_division=0)
        assert metrics[f"f1_{average}"] == pytest.approx(expected)
    assert metrics["labels_per_sample"] == {"gold": 1.4, "predicted": 1.4}
    p, r, f, support = precision_recall_fscore_support(y_true, y_pred, zero_division=0)
    assert [c["label"] for c in metrics["per_class"]] == list(FEELINGS)
    assert [c["support"] for c in metrics["per_class"]] == support.tolist() == [1, 1, 1, 2, 2]
    assert [c["f1"] for c in metrics["per_class"]] == pytest.approx(f.tolist())
    assert "confusion_matrix" not in metrics


def test_single_label_metrics_have_micro_and_a_per_class_report():
    gold = ["a", "b", "c", "c", "b", "a", "c"]
    predicted = ["a", "c", "c", "c", "b", "b", "a"]
    metrics = classification_metrics(gold, predicted, ["a", "b", "c"])
    assert metrics["f1_micro"] == pytest.approx(f1_score(gold, predicted, average="micro"))
    assert metrics["precision_macro"] == pytest.approx(
        precision_recall_fscore_support(gold, predicted, average="macro")[0]
    )
    table = per_class_table({"valid": metrics, "model": "x"})
    assert table.columns.tolist() == ["split", "label", "support", "precision", "recall", "f1"]
    assert table["support"].tolist() == [2, 2, 3]
    assert table["f1"].tolist() == pytest.approx(
        f1_score(gold, predicted, average=None).round(6).tolist()
    )


def test_model_card_is_a_hub_card_with_the_measured_scores(multilabel_checkpoint):
    from huggingface_hub import ModelCard

    card = ModelCard.load(multilabel_checkpoint / "README.md")
    assert card.data.license == "apache-2.0" and card.data.pipeline_tag == "text-classification"
    assert "multi-label" in card.data.tags
    history = read_tsv(multilabel_checkpoint / "history.tsv")
    best = history[history["best"] == "True"].iloc[0]
    metrics = {result.metric_type: result.metric_value for result in card.data.eval_results}
    assert metrics["f1"] == round(float(best["valid_f1_macro"]), 4)
    assert metrics["accuracy"] == round(float(best["valid_accuracy"]), 4)
    assert all(f"- `{label}`" in card.text for label in FEELINGS)
    assert "thresholds.json" in card.text and "top_k=None" in card.text
