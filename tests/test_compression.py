"""Compressed models of a tiny trained BERT (ONNX fp32 and int8, pruned, distilled), and the
speed table."""

import collections
import json

import numpy as np
import onnx
import pandas as pd
import pytest
from conftest import DEMO, EMOTIONS, demo_rows

from textclf import registry, thresholds
from textclf.compression import ONNX_FILE, OnnxModel, run_compress_onnx
from textclf.distillation import (
    kl_to_teacher,
    picked_layers,
    run_distill,
    student_from,
    teacher_logits,
)
from textclf.encoding import encode, predict_logits
from textclf.finetuning import run_stage1
from textclf.inference import Classifier, run_predict
from textclf.labels import LabelSpace
from textclf.modeling import encoder_layers, layer_sizes, load_classifier
from textclf.prepare import stratified_sample
from textclf.pruning import choose, run_prune
from textclf.speed import run_speed
from textclf.tsv import read_tsv, write_tsv

SETTINGS = {
    "epochs": 4,
    "batch_size": 16,
    "unfreeze": "none",
    "learning_rate": 3e-3,
    "mixed_precision": "none",  # the reference the exports are compared with is fp32
}


@pytest.fixture(scope="module")
def trained(tiny_bert, tmp_path_factory):
    folder = tmp_path_factory.mktemp("compress")
    space = LabelSpace(("INFORMATIVE", "UNINFORMATIVE"))
    (folder / "dataset.json").write_text(json.dumps(space.to_json()))
    run_stage1(
        str(tiny_bert),
        DEMO / "train.tsv",
        DEMO / "valid.tsv",
        folder / "dataset.json",
        SETTINGS,
        folder / "stage1",
    )
    for kind in ("onnx", "onnx-int8"):
        run_compress_onnx(kind, folder / "stage1", demo_rows("valid"), SETTINGS, folder / kind)
    return folder


def test_onnx_and_int8_models_agree_with_the_torch_model(trained):
    texts = demo_rows("valid")["text"]
    reference = Classifier(trained / "stage1")
    expected = reference.predict(texts)["predicted"]
    for kind, agreement in (("onnx", 1.0), ("onnx-int8", 0.9)):
        folder = trained / kind
        manifest = registry.read_manifest(folder)
        assert manifest["kind"] == kind and manifest["source"] == str(trained / "stage1")
        assert manifest["parameters"] == reference.model.num_parameters()
        predictor = registry.load_predictor(folder)
        assert isinstance(predictor, OnnxModel)
        assert (predictor.predict(texts)["predicted"] == expected).mean() >= agreement
    onnx_fp32 = registry.load_predictor(trained / "onnx")
    encoded = encode(reference.tokenizer, texts, reference.max_length)
    logits = predict_logits(reference.model, encoded, reference.tokenizer.pad_token_id)
    np.testing.assert_allclose(onnx_fp32.logits(texts), logits, atol=1e-4)
    fp32 = onnx_fp32.probabilities(texts)
    # int8 weights: the int8 file is smaller, its probabilities close but not equal
    int8 = registry.load_predictor(trained / "onnx-int8").probabilities(texts)
    assert 0 < np.abs(int8 - fp32).max() < 0.2
    assert (trained / "onnx-int8" / ONNX_FILE).stat().st_size < (
        trained / "onnx" / ONNX_FILE
    ).stat().st_size


def test_the_export_is_fused_for_onnx_runtime_and_int8_quantizes_the_attention(trained):
    def operators(kind):
        graph = onnx.load(str(trained / kind / ONNX_FILE), load_external_data=False).graph
        return collections.Counter(node.op_type for node in graph.node)

    layers = len(encoder_layers(Classifier(trained / "stage1").model))
    fused = operators("onnx")
    assert fused["Attention"] == fused["BiasGelu"] == layers
    assert fused["SkipLayerNormalization"] == 2 * layers
    assert operators("onnx-int8")["QAttention"] == layers


def test_any_batch_size_and_length_runs_through_the_export(trained):
    model = registry.load_predictor(trained / "onnx")
    for texts in (["one"], ["a", "two words", "and a much longer text " * 10] * 30):
        assert model.probabilities(texts).shape == (len(texts), 2)


def test_predict_and_speed_run_with_every_kind(trained, tmp_path):
    write_tsv(demo_rows("test").head(20), tmp_path / "test.tsv")
    for kind in ("stage1", "onnx", "onnx-int8"):
        run_predict(trained / kind, tmp_path / "test.tsv", tmp_path / f"{kind}.csv")
        prediction = pd.read_csv(tmp_path / f"{kind}.csv", dtype=str)
        assert len(prediction) == 20 and set(prediction["label"]) <= {
            "INFORMATIVE",
            "UNINFORMATIVE",
        }
    folders = {kind: trained / kind for kind in ("stage1", "onnx", "onnx-int8")}
    run_speed(folders, DEMO / "valid.tsv", tmp_path / "speed.tsv", threads=1)
    speed = read_tsv(tmp_path / "speed.tsv")
    assert speed["model"].tolist() == list(folders)
    assert (speed["latency_ms"].astype(float) > 0).all()
    assert (speed["texts_per_second"].astype(float) > 0).all()


def test_a_multilabel_model_gets_thresholds_tuned_again(tiny_bert, tmp_path):
    from test_multilabel import FEELINGS, SPACE

    emotions = read_tsv(EMOTIONS / "train.tsv").rename(columns={"labels": "label"})
    train, valid = stratified_sample(emotions, 0.2, seed=0, source="train.tsv")
    write_tsv(train, tmp_path / "train.tsv")
    write_tsv(valid, tmp_path / "valid.tsv")
    (tmp_path / "dataset.json").write_text(json.dumps(SPACE.to_json()))
    settings = {**SETTINGS, "epochs": 2}
    run_stage1(
        str(tiny_bert),
        tmp_path / "train.tsv",
        tmp_path / "valid.tsv",
        tmp_path / "dataset.json",
        settings,
        tmp_path / "stage1",
    )
    run_compress_onnx("onnx-int8", tmp_path / "stage1", valid, settings, tmp_path / "int8")
    record = thresholds.load(tmp_path / "int8")
    assert set(record["per_class"]) == set(FEELINGS)
    model = registry.load_predictor(tmp_path / "int8")
    probabilities = model.probabilities(valid["text"])
    gold = SPACE.targets(valid["label"]) > 0
    average = thresholds.average_for("f1_macro")
    retuned = thresholds.tune(probabilities, gold, list(SPACE.labels), record["use"], average)
    assert record["per_class"] == retuned["per_class"]  # tuned on the int8 model's outputs


@pytest.fixture(scope="module")
def teacher(tiny_bert_4layers, tmp_path_factory):
    """A 4-layer tiny BERT trained on the demo (0.96 valid accuracy): 2 heads of 16 dims and
    37 neurons a layer."""
    folder = tmp_path_factory.mktemp("teacher")
    space = LabelSpace(("INFORMATIVE", "UNINFORMATIVE"))
    (folder / "dataset.json").write_text(json.dumps(space.to_json()))
    settings = {**SETTINGS, "epochs": 6, "learning_rate": 1e-3}
    run_stage1(
        str(tiny_bert_4layers),
        DEMO / "train.tsv",
        DEMO / "valid.tsv",
        folder / "dataset.json",
        settings,
        folder / "stage1",
    )
    return folder / "stage1"


def test_choose_drops_the_least_important_units_and_keeps_one_head_a_layer():
    import torch

    heads = torch.tensor([[0.9, 0.1], [0.05, 0.04], [0.8, 0.7]])
    neurons = torch.tensor([[3.0, 1.0, 2.0, 0.5], [0.1, 0.2, 0.3, 0.4], [1, 1, 1, 1.0]])
    kept_heads, kept_neurons = choose(heads, neurons, head_share=0.5, neuron_share=0.5)
    # 3 of 6 heads go: layer 1 keeps its better head, so the next lowest (0.1, 0.7) go
    assert kept_heads == [[0], [0], [0]]
    assert kept_neurons[:2] == [[0, 2], [2, 3]] and len(kept_neurons[2]) == 2


def test_pruning_removes_exactly_the_configured_heads_and_neurons(teacher, tmp_path):
    prune_settings = {"heads": 0.25, "neurons": 0.3, "recovery_epochs": 1}
    run_prune(
        teacher, demo_rows("train"), demo_rows("valid"), SETTINGS, prune_settings, tmp_path / "p"
    )
    assert registry.read_manifest(tmp_path / "p")["kind"] == "pruned"
    predictor = registry.load_predictor(tmp_path / "p")
    sizes = layer_sizes(predictor.model)
    assert sum(sizes["heads"]) == 6 and min(sizes["heads"]) >= 1  # 2 of 8 heads gone
    assert sizes["neurons"] == [26] * 4  # 11 of 37 neurons gone in each layer
    # a head: query, key and value rows (16 x 32 + 16 each) and 16 x 32 output columns;
    # a neuron: one row of 32 + bias in, one column of 32 out
    removed = 2 * (3 * (16 * 32 + 16) + 16 * 32) + 4 * 11 * (32 + 1 + 32)
    full = Classifier(teacher).model.num_parameters()
    assert registry.read_manifest(tmp_path / "p")["parameters"] == full - removed
    assert predictor.model.num_parameters() == full - removed
    predicted = predictor.predict(demo_rows("valid")["text"])["predicted"]
    assert (predicted == demo_rows("valid")["label"]).mean() > 0.9  # recovered, not chance
    # its int8 ONNX copy: layers of uneven sizes export (checked against torch before int8)
    run_compress_onnx(
        "pruned-onnx-int8", tmp_path / "p", demo_rows("valid"), SETTINGS, tmp_path / "p8"
    )
    manifest = registry.read_manifest(tmp_path / "p8")
    assert (manifest["kind"], manifest["source"]) == ("pruned-onnx-int8", str(tmp_path / "p"))
    assert manifest["parameters"] == full - removed and manifest["precision"] == "int8"
    int8 = registry.load_predictor(tmp_path / "p8")
    assert isinstance(int8, OnnxModel)
    assert (int8.predict(demo_rows("valid")["text"])["predicted"] == predicted).mean() >= 0.9


def test_distillation_lowers_the_students_kl_to_the_teacher(teacher, tmp_path):
    import torch

    assert picked_layers(6, 3) == [1, 3, 5] and picked_layers(4, 2) == [1, 3]
    model, tokenizer = load_classifier(str(teacher))
    for index, picked in enumerate([1, 3]):
        for (name, a), (_, b) in zip(
            encoder_layers(student_from(model, 2))[index].named_parameters(),
            encoder_layers(model)[picked].named_parameters(),
            strict=True,
        ):
            assert torch.equal(a, b), name
    texts = demo_rows("valid")["text"]
    reference = teacher_logits(model, tokenizer, texts, 128)
    # one layer of four: the student starts far from the teacher; alpha 1: the teacher alone
    before = kl_to_teacher(student_from(model, 1), reference, tokenizer, texts, 128)
    distill = {"layers": 1, "temperature": 2.0, "alpha": 1.0, "epochs": 3}
    run_distill(teacher, demo_rows("train"), demo_rows("valid"), SETTINGS, distill, tmp_path / "d")
    trained = registry.load_predictor(tmp_path / "d")
    assert len(encoder_layers(trained.model)) == 1
    after = kl_to_teacher(trained.model, reference, tokenizer, texts, 128)
    assert after < before / 2, (before, after)
