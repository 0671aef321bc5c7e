"""The training loop both of the method's stages run (textclf.finetuning): fine-tune a sequence
classifier.

Plain PyTorch: AdamW (the fused kernel) with linear warm-up and decay, progressive unfreezing
(by epoch or on a validation plateau), early stopping, and the best epoch by one validation
metric is what is saved, as a Hugging Face folder with `history.tsv` beside the weights.

Single-label: softmax and cross-entropy (optionally class-weighted). Multi-label: sigmoid and
`BCEWithLogitsLoss` (optionally with `pos_weight`); each epoch is scored at the global
threshold that is best on valid, and the final thresholds are saved as `thresholds.json`.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F
from transformers import get_linear_schedule_with_warmup

from textclf import thresholds
from textclf.config import default, settings_class
from textclf.distributed import Ranks
from textclf.encoding import (
    collate,
    encode,
    length_grouped_batches,
    predict_logits,
    probabilities_of,
)
from textclf.epochs import EarlyStopping, EpochCallback, Unfreezing, notify
from textclf.labels import LabelSpace
from textclf.metrics import SELECTABLE, selection_metric
from textclf.modeling import (
    AUTOCAST,
    count_trainable,
    encoder_layers,
    inference_precision,
    init_prior_bias,
    label_space,
    load_classifier,
    plain_dropout,
    resolve_precision,
    set_dropout,
    set_trainable_depth,
    use_fast_dropout,
)
from textclf.registry import write_manifest
from textclf.tsv import atomic_path, write_tsv

log = logging.getLogger(__name__)


@settings_class("train")
class TrainSettings:
    """A training run's settings; every default is the schema's (schemas/config.schema.yaml)."""

    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    warmup: float
    max_length: int = default("model.max_length")
    patience: int
    metric: str
    seed: int
    unfreeze: str
    unfreeze_every: int
    unfreeze_layers: int
    unfreeze_patience: int
    initial_layers: int
    positive_label: str | None = None
    class_weights: bool
    pos_weight: bool
    threshold: str | float
    mixed_precision: str
    dropout: float | None

    def __post_init__(self):
        if self.metric not in (*SELECTABLE, "auto"):
            raise ValueError(f"metric must be auto or one of {SELECTABLE}, not {self.metric!r}")

    def selection_metric(self, space: LabelSpace) -> str:
        return selection_metric(self.metric, space)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    # ... without filling every new tensor with NaN first (a debugging aid that deterministic
    # mode switches on; wasted work, if within the noise of bench/profile_step.py)
    torch.utils.deterministic.fill_uninitialized_memory = False


def new_classifier(model_name: str, space: LabelSpace, settings: TrainSettings, train_rows):
    """(model, tokenizer): the encoder with a new head for `space`, seeded. A new multi-label
    head starts at each label's prior (but not with pos_weight, where 0 is the balanced start)."""
    model, tokenizer = load_classifier(model_name, space, settings.seed)
    if space.multi_label and not settings.pos_weight:
        init_prior_bias(model, space.targets(train_rows["label"]))
    return model, tokenizer


def _param_groups(model, weight_decay: float):
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        (no_decay if parameter.ndim < 2 or "norm" in name.lower() else decay).append(parameter)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def loss_function(space: LabelSpace, settings: TrainSettings, targets: torch.Tensor, device):
    """The training loss, with class weights or positive weights from the training targets.

    loss(logits, gold) -> (total, weight): the batch's summed loss and what its mean divides
    by (rows, weighted rows or row-label pairs), so that a batch dealt to several ranks is
    averaged over the whole batch, as in one process."""
    if space.multi_label:
        pos_weight = None
        if settings.pos_weight:
            positives = targets.sum(0)
            pos_weight = ((len(targets) - positives) / positives.clamp(min=1)).to(device)
        return lambda logits, gold: (
            F.binary_cross_entropy_with_logits(
                logits, gold, pos_weight=pos_weight, reduction="sum"
            ),
            float(gold.numel()),
        )
    if not settings.class_weights:
        return lambda logits, gold: (F.cross_entropy(logits, gold, reduction="sum"), len(gold))
    counts = torch.bincount(targets, minlength=len(space.labels)).float()
    weight = (len(targets) / (len(space.labels) * counts.clamp(min=1))).to(device)
    return lambda logits, gold: (
        F.cross_entropy(logits, gold, weight=weight, reduction="sum"),
        weight[gold].sum().item(),
    )


def _evaluate(
    model, encoded, gold_values, space: LabelSpace, pad_id, positive_label, metric, dtype=None
):
    """(valid loss, metrics); multi-label is scored at its best global threshold."""
    logits = predict_logits(model, encoded, pad_id, dtype=dtype)
    targets = torch.tensor(space.targets(gold_values))
    loss_of = F.binary_cross_entropy_with_logits if space.multi_label else F.cross_entropy
    probabilities = probabilities_of(logits, space)
    metrics = thresholds.score_on_valid(space, probabilities, gold_values, metric, positive_label)
    return loss_of(logits, targets).item(), metrics


def tune_thresholds(model, tokenizer, valid_rows: pd.DataFrame, settings: TrainSettings) -> dict:
    """thresholds.json of a trained multi-label model, tuned on `valid_rows`."""
    space = label_space(model)
    encoded = encode(tokenizer, valid_rows["text"], settings.max_length)
    trained_in = resolve_precision(settings.mixed_precision, model.device)
    dtype = AUTOCAST[inference_precision(trained_in, model.device)]  # as Classifier will
    logits = predict_logits(model, encoded, tokenizer.pad_token_id, dtype=dtype)
    probabilities = probabilities_of(logits, space)
    average = thresholds.average_for(settings.selection_metric(space))
    gold = space.targets(valid_rows["label"]) > 0
    return thresholds.tune(probabilities, gold, list(space.labels), settings.threshold, average)


def _log_progress(epoch, step, steps, train_loss, seen, rows, seconds) -> None:
    """One line per tenth of an epoch, so a long job on a cluster shows it is moving."""
    rate = seen / max(seconds, 1e-9)
    log.info(
        "epoch %d: step %d/%d, train loss %.4f, %.1f rows/s, about %.0f s to the epoch's end",
        epoch,
        step,
        steps,
        train_loss,
        rate,
        (rows - seen) / rate,
    )


def train(
    model,
    tokenizer,
    train_rows: pd.DataFrame,
    valid_rows: pd.DataFrame,
    settings: TrainSettings,
    threads: int = 1,
    callbacks: list[EpochCallback] = (),
    targets: torch.Tensor | None = None,
    loss=None,
    step_callbacks: list[EpochCallback] = (),
) -> tuple[object, pd.DataFrame]:
    """Train `model` in place; return (model with the best epoch's weights, history).

    `callbacks` see every epoch's history record and may stop training. `targets` (one row
    per training row) and `loss(logits, targets) -> (total, weight)` (see loss_function)
    replace the labels and the configured loss when a caller trains on something else, e.g. a
    teacher's soft targets. `step_callbacks` see every step's loss over the whole batch.

    Under torchrun (textclf.distributed) every rank trains on its share of each batch with
    DistributedDataParallel; rank 0 validates and decides, every rank ends with the same
    weights, and the caller saves on rank 0 only."""
    ranks = Ranks()
    device = ranks.start()
    torch.set_num_threads(ranks.threads(threads))
    seed_everything(settings.seed)
    model.to(device)
    if settings.dropout is not None:
        set_dropout(model, settings.dropout)
    if device.type == "cpu":
        use_fast_dropout(model, settings.seed)
    space = label_space(model)
    metric = settings.selection_metric(space)
    pad_id = tokenizer.pad_token_id
    train_encoded = encode(tokenizer, train_rows["text"], settings.max_length)
    valid_encoded = encode(tokenizer, valid_rows["text"], settings.max_length)
    if targets is None:
        targets = torch.tensor(space.targets(train_rows["label"]))
    valid_gold = valid_rows["label"].tolist()
    criterion = loss or loss_function(space, settings, targets, device)
    precision = resolve_precision(settings.mixed_precision, device)
    amp_dtype = AUTOCAST[precision]
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
    log.info("training in %s on %s", precision, device)
    lengths = [len(s) for s in train_encoded]

    unfreezing = Unfreezing(
        settings.unfreeze,
        len(encoder_layers(model)),
        settings.initial_layers,
        settings.unfreeze_layers,
        settings.unfreeze_every,
        settings.unfreeze_patience,
    )
    stopping = EarlyStopping(settings.patience)
    # Every rank draws the same global batches (the batch size is the global one) and trains
    # on its share of each: the steps and the schedule are those of one process.
    generator = torch.Generator().manual_seed(settings.seed)
    steps_per_epoch = -(-len(train_encoded) // settings.batch_size)
    total_steps = steps_per_epoch * settings.epochs
    # the fused kernel: one pass over the parameters (on 2 CPU cores the optimizer's part of a
    # MiniLM step fell from 110 to 21 ms against the default foreach kernel)
    optimizer = torch.optim.AdamW(
        _param_groups(model, settings.weight_decay),
        lr=settings.learning_rate,
        fused=device.type in ("cpu", "cuda"),
    )
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(settings.warmup * total_steps), total_steps
    )

    report_every = max(1, steps_per_epoch // 10)
    history = []
    for epoch in range(1, settings.epochs + 1):
        started = time.perf_counter()
        trainable = set_trainable_depth(model, unfreezing.depth)
        network = ranks.wrap(model)  # again each epoch: DDP syncs only what trains at wrapping
        network.train()
        total_loss, seen = 0.0, 0
        batches = length_grouped_batches(lengths, settings.batch_size, generator)
        for step, batch_index in enumerate(batches, start=1):
            rows, counts = ranks.share(batch_index)
            batch = collate([train_encoded[i] for i in rows], pad_id, device)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                logits = network(**batch).logits
                summed, weight = criterion(logits.float(), targets[rows].to(device))
            if not counts:
                summed, weight = summed * 0.0, 0.0
            # the whole batch's (loss, weight); DDP averages gradients over the ranks
            whole_loss, whole_weight = ranks.sum([summed.item(), float(weight)])
            batch_loss = whole_loss / whole_weight
            scaler.scale(summed * (ranks.size / whole_weight)).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            total_loss += batch_loss * len(batch_index)
            seen += len(batch_index)
            notify(step_callbacks, {"epoch": epoch, "step": step, "train_loss": batch_loss})
            if step % report_every == 0 or step == steps_per_epoch:
                _log_progress(
                    epoch,
                    step,
                    steps_per_epoch,
                    total_loss / seen,
                    seen,
                    len(train_encoded),
                    time.perf_counter() - started,
                )
        record, stop = None, None
        if ranks.main:  # validation and the callbacks (search pruning, tracking) on rank 0
            valid_loss, valid = _evaluate(
                model,
                valid_encoded,
                valid_gold,
                space,
                pad_id,
                settings.positive_label,
                metric,
                amp_dtype,
            )
            record = {
                "epoch": epoch,
                "train_loss": total_loss / len(train_encoded),
                "valid_loss": valid_loss,
                "valid_accuracy": valid["accuracy"],
                "valid_f1_macro": valid["f1_macro"],
                f"valid_{metric}": valid[metric],
                "trainable": trainable,
                "trainable_parameters": count_trainable(model),
                "seconds": round(time.perf_counter() - started, 2),
                "precision": precision,
            }
            log.info("epoch %d: %s", epoch, json.dumps(record))
            stop = notify(callbacks, record)
        record, stop = ranks.broadcast((record, stop))
        history.append(record)
        # every rank takes the same decisions from rank 0's scores
        improved = stopping.update(epoch, record[f"valid_{metric}"], model)
        if unfreezing.after_epoch(epoch, improved):
            stopping.restart()
            log.info("plateau: opening more layers (depth %d)", unfreezing.depth)
        if stop:
            log.info("stopped by a callback after epoch %d", epoch)
            break
        if stopping.should_stop:
            log.info("early stopping after epoch %d", epoch)
            break
    stopping.restore(model)
    plain_dropout(model)
    history_frame = pd.DataFrame(history)
    history_frame["best"] = history_frame["epoch"] == stopping.best_epoch
    return model, history_frame


def save_checkpoint(
    model,
    tokenizer,
    history: pd.DataFrame,
    settings,
    out_dir,
    kind: str,
    threshold_record: dict | None = None,
    card: str | None = None,
    facts: dict | None = None,
) -> None:
    """Write a Hugging Face folder (weights, config with labels, tokenizer) plus history.tsv,
    the training settings, the model card README.md, the manifest declaring its `kind` and its
    `facts` (how its texts are prepared: registry.text_facts; stage 1 and 2 add the encoder's
    `base_model`) and, for multi-label models, thresholds.json, atomically. The tokenizer's
    model_max_length is the training max_length."""
    facts = facts or {"preprocess": "none", "max_length": settings.max_length}
    with atomic_path(out_dir) as tmp:
        model.to("cpu").save_pretrained(tmp)
        write_manifest(
            tmp,
            kind,
            model.num_parameters(),
            history["seconds"].astype(float).sum(),
            precision=history["precision"].iloc[-1],
            **facts,
        )
        tokenizer.model_max_length = facts["max_length"]
        tokenizer.save_pretrained(tmp)
        if threshold_record is not None:
            thresholds.save(threshold_record, tmp)
        if card is not None:
            (Path(tmp) / "README.md").write_text(card, encoding="utf-8")
        write_tsv(history.astype(str), Path(tmp) / "history.tsv")
        (Path(tmp) / "training_settings.json").write_text(
            json.dumps(asdict(settings), indent=2) + "\n"
        )
