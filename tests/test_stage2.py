"""Stage 2's recipes: which rows it trains on, their targets and loss weights, and a tiny model
trained with each."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from conftest import demo_rows

from textclf.finetuning import (
    mix_for_stage2,
    run_stage1,
    run_stage2,
    stage2_rows,
    weighted_soft_loss,
)
from textclf.labels import MULTI, LabelSpace
from textclf.training import TrainSettings
from textclf.tsv import write_tsv

SPACE = LabelSpace(("A", "B"))
ORIGINAL = pd.DataFrame(
    {"id": [f"o{i}" for i in range(20)], "text": [f"t{i}" for i in range(20)], "label": "A"}
)
HARD = pd.DataFrame(
    {
        "id": ["o1-aug1", "o2-aug1", "o3-aug1"],
        "source_id": ["o1", "o2", "o3"],
        "text": ["h1", "h2", "h3"],
        "label": ["A", "A", "A"],
    }
)


def test_mixed_with_unit_weights_is_todays_stage2():
    rows, targets, loss = stage2_rows("mixed", ORIGINAL, HARD, 1.0, 1.0, 7, SPACE)
    assert targets is None and loss is None
    assert rows.equals(mix_for_stage2(ORIGINAL, HARD, 1.0, 7))


def test_all_rows_weights_the_hard_rows():
    rows, targets, loss = stage2_rows("all_rows", ORIGINAL, HARD, 1.0, 3.0, 7, SPACE)
    assert len(rows) == 23 and set(rows["id"]) == set(ORIGINAL["id"]) | set(HARD["id"])
    weight = dict(zip(rows["id"], targets[:, -1].tolist(), strict=True))
    assert all(weight[i] == 3.0 for i in HARD["id"])
    assert all(weight[i] == 1.0 for i in ORIGINAL["id"])
    assert torch.equal(targets[:, :2], torch.tensor([[1.0, 0.0]] * 23))  # every label A


def test_consistency_targets_are_stage1_on_the_source():
    asked = []

    def stage1(texts):
        asked.extend(texts)
        return np.array([[0.2, 0.8] if t == "t2" else [0.6, 0.4] for t in texts])

    rows, targets, _ = stage2_rows("consistency", ORIGINAL, HARD, 2.0, 1.0, 7, SPACE, stage1)
    assert sorted(asked) == ["t1", "t2", "t3"]  # the sources, never the rewrites
    by_id = dict(zip(rows["id"], targets[:, :2].tolist(), strict=True))
    assert by_id["o2-aug1"] == pytest.approx([0.2, 0.8])  # not the inherited label A
    assert by_id["o1-aug1"] == pytest.approx([0.6, 0.4])
    originals = [i for i in rows["id"] if "aug" not in i]
    assert len(originals) == 6 and all(by_id[i] == [1.0, 0.0] for i in originals)


def test_weighted_soft_loss_is_the_usual_loss_on_labels():
    logits = torch.tensor([[2.0, -1.0], [0.5, 0.3], [-1.0, 1.0]])
    gold = torch.tensor([0, 1, 1])
    targets = torch.cat([F.one_hot(gold, 2).float(), torch.ones(3, 1)], dim=1)
    total, weight = weighted_soft_loss(SPACE)(logits, targets)
    assert total.item() == pytest.approx(F.cross_entropy(logits, gold, reduction="sum").item())
    assert weight == 3
    doubled = targets.clone()
    doubled[0, -1] = 2.0
    total2, weight2 = weighted_soft_loss(SPACE)(logits, doubled)
    first = F.cross_entropy(logits[:1], gold[:1]).item()
    assert total2.item() == pytest.approx(total.item() + first) and weight2 == 4
    multi = LabelSpace(("x", "y", "z"), MULTI)
    hot = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    logits3 = torch.tensor([[1.0, -2.0, 0.5], [0.1, 0.2, -0.3]])
    total3, weight3 = weighted_soft_loss(multi)(logits3, torch.cat([hot, torch.ones(2, 1)], 1))
    expected = F.binary_cross_entropy_with_logits(logits3, hot, reduction="sum").item()
    assert total3.item() == pytest.approx(expected) and weight3 == 6


@pytest.mark.parametrize("recipe", ["all_rows", "consistency"])
def test_each_recipe_trains_a_tiny_model(recipe, tiny_bert, tmp_path):
    train, valid = demo_rows("train"), demo_rows("valid")
    paths = {name: tmp_path / f"{name}.tsv" for name in ("train", "valid", "hard")}
    write_tsv(train, paths["train"])
    write_tsv(valid, paths["valid"])
    source = train.head(8)
    write_tsv(
        source.assign(source_id=source["id"], id=source["id"] + "-aug1", text=source["text"] + "!"),
        paths["hard"],
    )
    dataset = tmp_path / "dataset.json"
    labels = sorted(train["label"].unique())
    dataset.write_text(json.dumps(LabelSpace(tuple(labels)).to_json()))
    settings = {"epochs": 1, "batch_size": 16, "unfreeze": "none", "learning_rate": 1e-3}
    run_stage1(str(tiny_bert), paths["train"], paths["valid"], dataset, settings, tmp_path / "s1")
    run_stage2(
        tmp_path / "s1",
        paths["train"],
        paths["hard"],
        paths["valid"],
        {**settings, "learning_rate": 1e-4},
        1.0,
        tmp_path / "s2",
        recipe=recipe,
        hard_weight=2.0,
    )
    history = pd.read_csv(tmp_path / "s2" / "history.tsv", sep="\t")
    assert len(history) == 1 and np.isfinite(history["train_loss"]).all()
    assert TrainSettings(**json.loads((tmp_path / "s2" / "training_settings.json").read_text()))
