"""One registry of model kinds: a new kind is one Predictor class plus one entry, and it shows
up in the experiment's model list, the configuration's choices, evaluation and the comparison."""

import json

import numpy as np
import pytest
from conftest import DEMO, EMOTIONS

from textclf import registry
from textclf.comparison import comparison_table
from textclf.config import check
from textclf.inference import run_evaluate
from textclf.labels import LabelSpace
from textclf.predictor import Predictor
from textclf.registry import BASELINE, ModelKind


class KeywordPredictor(Predictor):
    """INFORMATIVE when a text holds a digit: a rule, not a model, but any kind will do."""

    space = LabelSpace(("INFORMATIVE", "UNINFORMATIVE"))

    @classmethod
    def load(cls, folder, threads=1, max_length=128):
        return cls()

    def probabilities(self, texts):
        digit = np.array([any(c.isdigit() for c in text) for text in texts], dtype=float)
        return np.stack([0.1 + 0.8 * digit, 0.9 - 0.8 * digit], axis=1)


@pytest.fixture()
def keyword_kind(monkeypatch):
    kind = ModelKind(
        "keyword",
        BASELINE,
        "test_registry:KeywordPredictor",
        lambda s: "keyword" in s["baselines"]["models"],
        "baselines",
    )
    monkeypatch.setitem(registry.KINDS, "keyword", kind)
    return kind


def demo_config(models):
    return {
        "default_experiment": "demo",
        "experiments": {"demo": {"dataset": str(DEMO), "positive_label": "INFORMATIVE"}},
        "baselines": {"models": models},
    }


def test_a_registered_kind_is_offered_listed_evaluated_and_compared(keyword_kind, tmp_path):
    settings = check(demo_config(["keyword", "tfidf"]))["demo"]
    assert registry.models(settings) == ["tfidf", "keyword", "stage1", "finetuned"]
    assert registry.model_folder("demo", "keyword") == "results/demo/baselines/keyword"

    folder = tmp_path / "keyword"
    folder.mkdir()
    registry.write_manifest(folder, "keyword", parameters=0, train_seconds=0)
    out = tmp_path / "metrics"
    splits = {"valid": DEMO / "valid.tsv", "test": DEMO / "test.tsv"}
    run_evaluate(folder, splits, out / "keyword.json", positive_label="INFORMATIVE")
    metrics = json.loads((out / "keyword.json").read_text())
    assert metrics["parameters"] == 0 and metrics["size_bytes"] > 0
    assert 0.5 < metrics["valid"]["accuracy"] <= 1.0

    (out / "stage1.json").write_text(json.dumps({**metrics, "parameters": 7}))
    speed = out / "speed.tsv"
    speed.write_text("model\tlatency_ms\ttexts_per_second\nkeyword\t0.1\t900\nstage1\t9\t90\n")
    names = ("keyword", "stage1")
    table = comparison_table({name: out / f"{name}.json" for name in names}, speed)
    assert table["model"].tolist() == ["keyword", "stage1"]
    assert table["parameters"].tolist() == [0, 7]
    assert table["texts_per_second"].tolist() == [900, 90]


def test_without_the_entry_the_kind_is_refused_by_name():
    with pytest.raises(
        Exception, match="baselines.models.0: 'keyword' is not one of scratch, tfidf"
    ):
        check(demo_config(["keyword"]))


def test_kinds_and_roles_of_the_built_in_models():
    assert registry.names(BASELINE) == ["scratch", "tfidf"]
    assert registry.names(registry.STAGE) == ["stage1", "finetuned"]
    assert registry.names(registry.COMPRESSED) == [
        "onnx",
        "onnx-int8",
        "pruned",
        "distilled",
        "pruned-onnx-int8",
        "distilled-onnx-int8",
    ]
    emotions = {
        "default_experiment": "e",
        "experiments": {"e": {"dataset": str(EMOTIONS), "hard_examples": False}},
        "baselines": {"models": []},
    }
    assert registry.models(check(emotions)["e"]) == ["stage1"]


def test_an_int8_copy_of_the_distilled_model_brings_the_distilled_model_with_it():
    config = {
        "default_experiment": "e",
        "experiments": {"e": {"dataset": str(DEMO), "hard_examples": False}},
        "baselines": {"models": []},
        "compress": {"models": ["onnx-int8", "distilled-onnx-int8"]},
    }
    settings = check(config)["e"]
    # distilled is made (and compared) because its int8 copy is made from it; pruned is not
    assert registry.models(settings) == ["stage1", "onnx-int8", "distilled", "distilled-onnx-int8"]
    assert registry.source(settings, "onnx-int8") == "stage1"
    assert registry.source(settings, "distilled") == "stage1"
    assert registry.source(settings, "distilled-onnx-int8") == "distilled"
    assert registry.source(settings, "pruned-onnx-int8") == "pruned"


def test_a_folder_without_a_manifest_or_of_an_unknown_kind_is_named(tmp_path):
    from textclf.tsv import DataError

    with pytest.raises(DataError, match="no such model folder"):
        registry.load_predictor(tmp_path / "missing")
    with pytest.raises(DataError, match="no manifest.json saying what kind.*cut short"):
        registry.load_predictor(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(DataError, match="no manifest.json.*Hugging Face folder"):
        registry.load_predictor(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(DataError, match="manifest.json: not valid JSON"):
        registry.load_predictor(tmp_path)
    registry.write_manifest(tmp_path, "sentencepiece-svm", parameters=1, train_seconds=1)
    with pytest.raises(DataError, match="unknown model kind 'sentencepiece-svm'"):
        registry.footprint(tmp_path)
