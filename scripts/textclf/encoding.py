"""Texts to token ids and padded batches, and logits from a transformer classifier: what
training, inference and the figures share."""

from __future__ import annotations

import copy

import numpy as np
import torch

from textclf.labels import LabelSpace
from textclf.logs import Progress
from textclf.modeling import for_cpu_inference


def encode(tokenizer, texts, max_length: int) -> list[list[int]]:
    """Tokenise a split once; padding happens per batch."""
    return tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]


def collate(sequences: list[list[int]], pad_id: int, device) -> dict[str, torch.Tensor]:
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, sequence in enumerate(sequences):
        ids[row, : len(sequence)] = torch.tensor(sequence)
        mask[row, : len(sequence)] = 1
    return {"input_ids": ids.to(device), "attention_mask": mask.to(device)}


def length_grouped_batches(lengths, batch_size: int, generator: torch.Generator):
    """Shuffled batches of similar lengths: shuffle, sort within chunks of 50 batches by
    length, cut into batches, shuffle the batches."""
    order = torch.randperm(len(lengths), generator=generator).tolist()
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: -lengths[i])
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


@torch.no_grad()
def logits_in_order(
    run,
    encoded: list[list[int]],
    pad_id: int,
    labels: int,
    batch_size: int = 64,
    progress: str | None = None,
):
    """Logits of `run(batch)` for every sequence, in input order; batches are formed by sorted
    length, so little padding is computed. With `progress` (what to call the work), ten or more
    batches log a line at every tenth (rows/s, time left)."""
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    logits = torch.empty((len(encoded), labels))
    tracker = progress and Progress(progress, len(encoded), "texts", at_least=10 * batch_size)
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size]
        logits[index] = run(collate([encoded[i] for i in index], pad_id, "cpu")).float()
        if tracker:
            tracker.advance(len(index))
    return logits


@torch.no_grad()
def predict_logits(
    model,
    encoded: list[list[int]],
    pad_id: int,
    batch_size: int = 64,
    dtype=None,
    progress: str | None = None,
):
    """A transformer's logits in input order. `dtype`: bf16 or fp16, None = full precision;
    see in_precision. `progress`: as logits_in_order."""
    model.eval()
    device = next(model.parameters()).device
    model, autocast = in_precision(model, dtype)

    def run(batch):
        batch = {name: values.to(device) for name, values in batch.items()}
        with torch.autocast(device.type, dtype=autocast, enabled=autocast is not None):
            return model(**batch).logits.cpu()

    return logits_in_order(run, encoded, pad_id, model.config.num_labels, batch_size, progress)


def in_precision(model, dtype):
    """(model, autocast dtype) to run `model` in `dtype` (None: as it is). On a CPU the weights
    themselves are cast, in a copy (modeling.for_cpu_inference), unless they are in `dtype`
    already; on a GPU the model runs under autocast."""
    weights = next(model.parameters())
    if dtype is None or dtype == weights.dtype:
        return model, None
    if weights.device.type == "cpu":
        return for_cpu_inference(copy.deepcopy(model), dtype), None
    return model, dtype


def probabilities_of(logits: torch.Tensor, space: LabelSpace) -> np.ndarray:
    return (logits.sigmoid() if space.multi_label else logits.softmax(-1)).numpy()
