"""The method's two training stages: stage 1 fine-tunes the encoder on the training rows;
stage 2 continues from stage 1's best weights on the hard rows and original ones. Each saves a
Hugging Face folder with its history, model card and manifest (textclf.training holds the loop
both run).

Stage 2's recipes (`finetune.recipe`):
- `mixed`: every hard row with `original_per_hard` original rows per hard row (the original
  project's);
- `all_rows`: every original row plus the hard rows;
- `consistency`: as `mixed`, but a rewrite never gets a hard label: its target is stage 1's
  probabilities on its source, so the rewrite is taught to read as its source did.
In each, a hard row's loss counts `finetune.hard_weight` times an original row's.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F

from textclf.config import from_section
from textclf.distributed import Ranks
from textclf.labels import LabelSpace
from textclf.model_card import model_card
from textclf.modeling import label_space, load_classifier
from textclf.packaged import hub_id
from textclf.registry import read_manifest, text_facts, write_manifest
from textclf.search import best_settings
from textclf.training import (
    TrainSettings,
    new_classifier,
    save_checkpoint,
    train,
    tune_thresholds,
)
from textclf.tsv import atomic_path, read_tsv

log = logging.getLogger("textclf")


def _train_and_save(
    model,
    tokenizer,
    train_rows,
    valid_rows,
    settings,
    out_dir,
    threads,
    origin: str,
    base_model: str | None,
    card: dict | None,
    kind: str,
    source,
    targets=None,
    loss=None,
):
    """Train, then save with the manifest's text facts taken from `source` (dataset.json for
    stage 1, the stage-1 folder for stage 2) and the encoder's Hub id (`base_model`, None for a
    local folder); `origin` says in the card what the model was trained from."""
    model, history = train(
        model, tokenizer, train_rows, valid_rows, settings, threads, targets=targets, loss=loss
    )
    if not Ranks().main:  # under torchrun, rank 0 writes the model
        return
    record = None
    space = label_space(model)
    if space.multi_label:
        record = tune_thresholds(model, tokenizer, valid_rows, settings)
        log.info("thresholds: global %.3f, using %s", record["global"], record["use"])
    text = text_facts(source, settings.max_length)
    card_text = model_card(
        space,
        history,
        asdict(settings),
        origin,
        base_model,
        text,
        len(train_rows),
        len(valid_rows),
        card,
    )
    facts = {**text, "base_model": base_model}
    save_checkpoint(model, tokenizer, history, settings, out_dir, kind, record, card_text, facts)
    log.info("saved %s", out_dir)


def run_stage1(
    model_name,
    train_tsv,
    valid_tsv,
    dataset_json,
    settings: dict,
    out_dir,
    threads=1,
    card: dict | None = None,
    best_yaml=None,
):
    """Stage 1; with `best_yaml` (a search's best trial) its settings replace the configured
    ones they cover."""
    if best_yaml is not None:
        best = best_settings(best_yaml)
        settings = {**settings, **best}
        log.info("stage 1 with the search's best settings: %s", best)
    settings = from_section(TrainSettings, settings, "train")
    train_rows, valid_rows = read_tsv(train_tsv), read_tsv(valid_tsv)
    space = LabelSpace.read(dataset_json)
    log.info(
        "stage 1: %s, %d train rows, %s, %d labels %s",
        model_name,
        len(train_rows),
        space.problem_type,
        len(space.labels),
        list(space.labels),
    )
    model, tokenizer = new_classifier(model_name, space, settings, train_rows)
    _train_and_save(
        model,
        tokenizer,
        train_rows,
        valid_rows,
        settings,
        out_dir,
        threads,
        f"fine-tuned from `{model_name}`",
        hub_id(model_name),
        card,
        "stage1",
        dataset_json,
    )


def mix_for_stage2(
    original: pd.DataFrame, hard: pd.DataFrame, original_per_hard: float, seed: int
) -> pd.DataFrame:
    """All hard rows plus `original_per_hard` original rows per hard row (capped at the
    training set), sampled with a seed, shuffled."""
    n_original = min(len(original), round(original_per_hard * len(hard)))
    sampled = original.sample(n=n_original, random_state=seed)
    mixed = pd.concat([sampled[["id", "text", "label"]], hard[["id", "text", "label"]]])
    return mixed.sample(frac=1.0, random_state=seed).reset_index(drop=True)


RECIPES = ("mixed", "all_rows", "consistency")


def weighted_soft_loss(space: LabelSpace):
    """loss(logits, targets) -> (total, weight) for the trainer: `targets` holds each row's
    target distribution (a one-hot row for a label; multi-label, per-label probabilities)
    followed by the row's loss weight. With one-hot targets and unit weights it is the
    configured cross-entropy (binary cross-entropy for multi-label)."""

    def loss(logits, targets):
        soft, weight = targets[:, :-1], targets[:, -1]
        if space.multi_label:
            per_row = F.binary_cross_entropy_with_logits(logits, soft, reduction="none").sum(-1)
            return (weight * per_row).sum(), weight.sum().item() * soft.shape[1]
        per_row = -(soft * F.log_softmax(logits, -1)).sum(-1)
        return (weight * per_row).sum(), weight.sum().item()

    return loss


def stage2_rows(
    recipe: str,
    original: pd.DataFrame,
    hard: pd.DataFrame,
    original_per_hard: float,
    hard_weight: float,
    seed: int,
    space: LabelSpace,
    source_probabilities=None,
):
    """(training rows, targets or None, loss or None) of a recipe. None, None: the configured
    loss on the rows' labels (`mixed` with unit weights, today's stage 2 exactly).
    `source_probabilities(texts)`: stage 1's probabilities, for `consistency`."""
    if recipe == "all_rows":
        rows = pd.concat([original[["id", "text", "label"]], hard[["id", "text", "label"]]])
        rows = rows.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    else:
        rows = mix_for_stage2(original, hard, original_per_hard, seed)
    is_hard = rows["id"].isin(set(hard["id"])).to_numpy(copy=True)
    if recipe != "consistency" and hard_weight == 1.0:
        return rows, None, None
    labels = space.targets(rows["label"])
    soft = labels if space.multi_label else torch.eye(len(space.labels))[labels].numpy()
    soft = torch.as_tensor(soft, dtype=torch.float32)
    if recipe == "consistency":
        source_text = dict(zip(original["id"], original["text"], strict=True))
        sources = hard.set_index("id")["source_id"].map(source_text)
        hard_ids = rows.loc[is_hard, "id"]
        soft[torch.as_tensor(is_hard)] = torch.as_tensor(
            source_probabilities(sources.loc[hard_ids].tolist()), dtype=torch.float32
        )
    weight = torch.where(torch.as_tensor(is_hard), hard_weight, 1.0).reshape(-1, 1)
    return rows, torch.cat([soft, weight.float()], dim=1), weighted_soft_loss(space)


def run_stage2(
    stage1_dir,
    train_tsv,
    hard_tsv,
    valid_tsv,
    settings: dict,
    original_per_hard: float,
    out_dir,
    threads=1,
    card: dict | None = None,
    recipe: str = "mixed",
    hard_weight: float = 1.0,
):
    settings = from_section(TrainSettings, settings, "finetune")
    hard = read_tsv(hard_tsv)
    if hard.empty:
        log.warning("stage 2: no hard examples; the fine-tuned model is the stage-1 model")
        if not Ranks().main:
            return
        with atomic_path(out_dir) as tmp:
            shutil.copytree(stage1_dir, tmp)
            record = read_manifest(tmp)
            write_manifest(tmp, **{**record, "kind": "finetuned"})
        return
    model, tokenizer = load_classifier(str(stage1_dir))
    space = label_space(model)

    def source_probabilities(texts):
        from textclf.encoding import encode, predict_logits, probabilities_of

        encoded = encode(tokenizer, texts, settings.max_length)
        logits = predict_logits(model, encoded, tokenizer.pad_token_id)
        return probabilities_of(logits, space)

    rows, targets, loss = stage2_rows(
        recipe,
        read_tsv(train_tsv),
        hard,
        original_per_hard,
        hard_weight,
        settings.seed,
        space,
        source_probabilities,
    )
    log.info(
        "stage 2 (%s, hard rows weighted %g): %d hard + %d original rows",
        recipe,
        hard_weight,
        len(hard),
        len(rows) - len(hard),
    )
    stage1 = read_manifest(stage1_dir)
    if "base_model" in stage1:
        base_model = stage1["base_model"]
    else:  # a stage 1 saved before manifests named it: what its config says it was loaded from
        config = json.loads((Path(stage1_dir) / "config.json").read_text())
        base_model = hub_id(config.get("_name_or_path") or str(stage1_dir))
    origin = (
        f"stage 2 of the hard-example method, stage 1 (fine-tuned from `{base_model}`) trained "
        f"again on {len(hard)} hard examples and {len(rows) - len(hard)} original rows"
        if base_model
        else f"stage 2 of the hard-example method, trained from stage 1 ({stage1_dir})"
    )
    stage2_card = {**(card or {}), "tags": [*(card or {}).get("tags", []), "hard-examples"]}
    _train_and_save(
        model,
        tokenizer,
        rows,
        read_tsv(valid_tsv),
        settings,
        out_dir,
        threads,
        origin,
        base_model,
        stage2_card,
        "finetuned",
        stage1_dir,
        targets,
        loss,
    )
