"""The method's two training stages: stage 1 fine-tunes the encoder on the training rows;
stage 2 continues from stage 1's best weights on the hard rows mixed with original ones. Each
saves a Hugging Face folder with its history, model card and manifest (textclf.training holds
the loop both run).
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict
from pathlib import Path

from textclf.config import from_section
from textclf.distributed import Ranks
from textclf.inference import mix_for_stage2
from textclf.labels import LabelSpace
from textclf.model_card import model_card
from textclf.modeling import label_space, load_classifier
from textclf.registry import read_manifest, write_manifest
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
    base_model: str,
    card: dict | None,
    kind: str,
):
    model, history = train(model, tokenizer, train_rows, valid_rows, settings, threads)
    if not Ranks().main:  # under torchrun, rank 0 writes the model
        return
    record = None
    space = label_space(model)
    if space.multi_label:
        record = tune_thresholds(model, tokenizer, valid_rows, settings)
        log.info("thresholds: global %.3f, using %s", record["global"], record["use"])
    text = model_card(
        space, history, asdict(settings), base_model, len(train_rows), len(valid_rows), card
    )
    save_checkpoint(model, tokenizer, history, settings, out_dir, kind, record, text)
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
        model_name,
        card,
        "stage1",
    )


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
    mixed = mix_for_stage2(read_tsv(train_tsv), hard, original_per_hard, settings.seed)
    log.info("stage 2: %d hard + %d original rows", len(hard), len(mixed) - len(hard))
    model, tokenizer = load_classifier(str(stage1_dir))
    base = json.loads((Path(stage1_dir) / "config.json").read_text()).get("_name_or_path", "")
    stage2_card = {**(card or {}), "tags": [*(card or {}).get("tags", []), "hard-examples"]}
    _train_and_save(
        model,
        tokenizer,
        mixed,
        read_tsv(valid_tsv),
        settings,
        out_dir,
        threads,
        f"stage 1 of this workflow ({base or stage1_dir})",
        stage2_card,
        "finetuned",
    )
