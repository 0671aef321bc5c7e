"""Structured pruning (kind `pruned`): remove the least important attention heads and
feed-forward neurons of the final model, then a short recovery fine-tune.

Importance is measured as in Michel et al. (2019), "Are Sixteen Heads Really Better than
One?": a gate of 1 multiplies each head's output and each feed-forward neuron (forward hooks,
since transformers 5 has no head masks), and a unit's importance is the absolute gradient of
the loss on valid with respect to its gate, summed over the valid rows; head importance is
normalised within each layer. The `compress.prune.heads` share of all heads goes, lowest first
across the whole model (every layer keeps at least one); in each layer, the
`compress.prune.neurons` share of its neurons goes. The weights are cut (textclf.modeling.
prune_layer), so the saved model is smaller and faster; its config records the sizes each layer
kept, and it loads through the registry (textclf.modeling.load_classifier), not with a plain
`from_pretrained`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import torch

from textclf.config import from_section
from textclf.encoding import collate, encode
from textclf.modeling import (
    PRUNED,
    encoder_layers,
    label_space,
    layer_parts,
    layer_sizes,
    load_classifier,
    prune_layer,
)
from textclf.registry import text_facts
from textclf.training import TrainSettings, loss_function, save_checkpoint, train, tune_thresholds

log = logging.getLogger(__name__)


def importance(model, tokenizer, rows, max_length: int, batch_size: int = 32):
    """(head importance [layers, heads], neuron importance [layers, neurons]) on `rows`."""
    space = label_space(model)
    layers = encoder_layers(model)
    head_gates, neuron_gates, hooks = [], [], []
    for layer in layers:
        attention, attention_output, (_, output) = layer_parts(layer)
        heads, size = attention.num_attention_heads, attention.attention_head_size
        head_gate = torch.ones(heads, requires_grad=True)
        neuron_gate = torch.ones(output.dense.in_features, requires_grad=True)
        head_gates.append(head_gate)
        neuron_gates.append(neuron_gate)

        def gate_heads(module, args, gate=head_gate, size=size):
            return (args[0] * gate.repeat_interleave(size),)

        def gate_neurons(module, args, gate=neuron_gate):
            return (args[0] * gate,)

        hooks.append(attention_output.dense.register_forward_pre_hook(gate_heads))
        hooks.append(output.dense.register_forward_pre_hook(gate_neurons))
    targets = torch.tensor(space.targets(rows["label"]))
    criterion = loss_function(space, TrainSettings(), targets, "cpu")
    encoded = encode(tokenizer, rows["text"], max_length)
    heads_seen = torch.zeros(len(layers), head_gates[0].numel())
    neurons_seen = [torch.zeros_like(g) for g in neuron_gates]
    model.eval()
    try:
        for start in range(0, len(encoded), batch_size):
            index = list(range(start, min(start + batch_size, len(encoded))))
            batch = collate([encoded[i] for i in index], tokenizer.pad_token_id, "cpu")
            loss, _ = criterion(model(**batch).logits.float(), targets[index])  # summed
            gradients = torch.autograd.grad(loss, head_gates + neuron_gates)
            for i in range(len(layers)):
                heads_seen[i] += gradients[i].abs()
                neurons_seen[i] += gradients[len(layers) + i].abs()
    finally:
        for hook in hooks:
            hook.remove()
    heads_seen /= heads_seen.norm(dim=1, keepdim=True).clamp(min=1e-12)  # per layer (Michel)
    return heads_seen, torch.stack(neurons_seen)


def choose(head_importance, neuron_importance, head_share: float, neuron_share: float):
    """(kept heads per layer, kept neurons per layer): the least important `head_share` of
    all heads (each layer keeps its best one) and `neuron_share` of each layer's neurons."""
    layers, heads = head_importance.shape
    order = head_importance.flatten().argsort().tolist()  # least important first
    drop = round(head_share * layers * heads)
    kept = [set(range(heads)) for _ in range(layers)]
    for unit in order:
        if drop == 0:
            break
        layer, head = divmod(unit, heads)
        if len(kept[layer]) > 1:
            kept[layer].discard(head)
            drop -= 1
    neurons = neuron_importance.shape[1]
    keep_neurons = max(1, neurons - round(neuron_share * neurons))
    kept_neurons = [
        sorted(row.argsort(descending=True)[:keep_neurons].tolist()) for row in neuron_importance
    ]
    return [sorted(k) for k in kept], kept_neurons


def prune(model, kept_heads, kept_neurons) -> None:
    for layer, heads, neurons in zip(encoder_layers(model), kept_heads, kept_neurons, strict=True):
        prune_layer(layer, heads, neurons)
    setattr(model.config, PRUNED, layer_sizes(model))


def run_prune(
    model_dir,
    train_rows,
    valid_rows,
    settings: dict,
    prune_settings: dict,
    out_dir,
    threads: int = 1,
) -> None:
    """Rule `prune`: importance on valid, cut, recovery fine-tune on train, save."""
    started = time.perf_counter()
    torch.set_num_threads(threads)
    train_settings = from_section(TrainSettings, settings, "train")
    model, tokenizer = load_classifier(str(model_dir))
    before = model.num_parameters()
    heads, neurons = importance(model, tokenizer, valid_rows, train_settings.max_length)
    kept_heads, kept_neurons = choose(
        heads, neurons, prune_settings["heads"], prune_settings["neurons"]
    )
    prune(model, kept_heads, kept_neurons)
    log.info(
        "pruned to %s: %d -> %d parameters",
        getattr(model.config, PRUNED),
        before,
        model.num_parameters(),
    )
    recovery = replace(
        train_settings, epochs=prune_settings["recovery_epochs"], unfreeze="none", warmup=0.0
    )
    model, history = train(model, tokenizer, train_rows, valid_rows, recovery, threads)
    record = None
    if label_space(model).multi_label:
        record = tune_thresholds(model, tokenizer, valid_rows, recovery)
    text = text_facts(model_dir, train_settings.max_length)
    save_checkpoint(model, tokenizer, history, recovery, out_dir, "pruned", record, facts=text)
    log.info("pruned model saved in %.0f s", time.perf_counter() - started)
