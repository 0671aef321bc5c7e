"""Model cards: built with huggingface_hub's card classes, they load back with `ModelCard.load`,
name the encoder's Hub id as `base_model` for stage 1 and stage 2 alike (a local folder has
none), carry the kept epoch's validation scores and say what preprocessing a `pipeline()` user
must apply; the folder's tokenizer cuts texts to the training max_length."""

import json

import pytest
from conftest import DEMO, demo_rows
from huggingface_hub import ModelCard

from textclf import registry
from textclf.finetuning import run_stage1, run_stage2
from textclf.labels import LabelSpace
from textclf.tsv import read_tsv, write_tsv

SETTINGS = {
    "epochs": 1,
    "batch_size": 16,
    "unfreeze": "none",
    "max_length": 24,
    "mixed_precision": "none",
}


def _dataset_json(folder, preprocess):
    space = LabelSpace(("INFORMATIVE", "UNINFORMATIVE"))
    path = folder / "dataset.json"
    path.write_text(json.dumps({**space.to_json(), "preprocess": preprocess}))
    return path


def _stage1_and_2(model_name, folder, preprocess):
    train = demo_rows("train").head(32)
    write_tsv(train, folder / "train.tsv")
    hard = demo_rows("valid").head(8).assign(id=lambda rows: "hard_" + rows["id"])
    write_tsv(hard, folder / "hard.tsv")
    dataset_json = _dataset_json(folder, preprocess)
    run_stage1(
        model_name, folder / "train.tsv", DEMO / "valid.tsv", dataset_json, SETTINGS, folder / "s1"
    )
    run_stage2(
        folder / "s1",
        folder / "train.tsv",
        folder / "hard.tsv",
        DEMO / "valid.tsv",
        SETTINGS,
        1.0,
        folder / "s2",
    )
    return folder / "s1", folder / "s2"


def _measured(folder) -> dict:
    history = read_tsv(folder / "history.tsv")
    best = history[history["best"] == "True"].iloc[0]
    return {
        "accuracy": round(float(best["valid_accuracy"]), 4),
        "f1": round(float(best["valid_f1_macro"]), 4),
    }


def test_cards_name_the_packaged_encoder_as_base_model_for_both_stages(tmp_path):
    from transformers import pipeline

    stage1, stage2 = _stage1_and_2("all-MiniLM-L6-v2", tmp_path, "tweet")
    for folder in (stage1, stage2):
        card = ModelCard.load(folder / "README.md")
        assert card.data.base_model == "sentence-transformers/all-MiniLM-L6-v2"
        assert registry.read_manifest(folder)["base_model"] == card.data.base_model
        assert card.data.pipeline_tag == "text-classification"
        scores = {result.metric_type: result.metric_value for result in card.data.eval_results}
        assert scores == _measured(folder)
        assert {r.dataset_split for r in card.data.eval_results} == {"validation"}
        assert "`data.preprocess: tweet`" in card.text and "normalise_tweet" in card.text
        assert "cut to\nthat length" in card.text and "24 tokens" in card.text
    assert "stage 2 of the hard-example method" in ModelCard.load(stage2 / "README.md").text
    assert "8 hard examples and 8 original rows" in ModelCard.load(stage2 / "README.md").text
    assert "hard-examples" in ModelCard.load(stage2 / "README.md").data.tags
    # the card's usage line works on a text longer than the training max_length
    classify = pipeline("text-classification", model=str(stage2), truncation=True)
    assert classify("word " * 600)[0]["label"] in {"INFORMATIVE", "UNINFORMATIVE"}


def test_a_model_from_a_local_folder_has_no_hub_base_model(tmp_path, tiny_bert):
    stage1, stage2 = _stage1_and_2(str(tiny_bert), tmp_path, "none")
    for folder in (stage1, stage2):
        card = ModelCard.load(folder / "README.md")
        assert card.data.base_model is None and "base_model" not in card.content.split("---")[1]
        assert registry.read_manifest(folder)["base_model"] is None
        assert "Trained on texts as they are" in card.text
    assert f"fine-tuned from `{tiny_bert}`" in ModelCard.load(stage1 / "README.md").text
    assert f"trained from stage 1 ({stage1})" in ModelCard.load(stage2 / "README.md").text


@pytest.mark.parametrize("name", ["all-MiniLM-L6-v2", "sentence-transformers/all-mpnet-base-v2"])
def test_hub_id_of_a_packaged_encoder_is_its_upstream_id(name):
    from textclf.packaged import hub_id

    assert hub_id(name).startswith("sentence-transformers/all-")
    assert hub_id("bert-base-uncased") == "bert-base-uncased"
