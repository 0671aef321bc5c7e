"""Loading models and tokenizers, and finding the parts that progressive unfreezing moves.

`model.name` may be a packaged encoder (all-MiniLM-L6-v2 by default, or all-mpnet-base-v2; no
network, see textclf.packaged), a local Hugging Face folder, or a Hub id for users who have a
Hub.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

from textclf.labels import MULTI, SINGLE, LabelSpace
from textclf.packaged import resolve as resolve_model

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
    if getattr(config, PRUNED, None):
        model = _load_pruned(source, config)
    else:
        model = AutoModelForSequenceClassification.from_pretrained(source, config=config)
    if tokenizer.pad_token is None:  # GPT-style tokenizers have none
        tokenizer.pad_token = tokenizer.eos_token
        model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


# Structured pruning leaves layers of different sizes, which `from_pretrained` cannot build
# from config.json alone: the kept sizes are recorded in the config under PRUNED, and
# load_classifier builds the full-size model, cuts it to those sizes and loads the weights.
PRUNED = "textclf_pruned"


def layer_parts(layer) -> tuple[nn.Module, nn.Module, nn.Module]:
    """(self-attention, attention output block, feed-forward block) of a BERT-family layer
    (BERT, MiniLM, RoBERTa, ...)."""
    if hasattr(layer.attention, "attn"):  # MPNetAttention
        raise ValueError(
            f"{type(layer).__name__}: structured pruning does not support MPNet models (their "
            "relative position bias is shared by every layer's heads); use distilled or "
            "onnx-int8 in compress.models instead"
        )
    try:
        return layer.attention.self, layer.attention.output, (layer.intermediate, layer.output)
    except AttributeError as error:
        raise ValueError(
            f"{type(layer).__name__}: structured pruning knows BERT-family layers "
            "(attention.self.query/key/value, attention.output.dense, intermediate.dense, "
            "output.dense)"
        ) from error


def _keep(linear: nn.Linear, index: torch.Tensor, dim: int) -> nn.Linear:
    """A copy of `linear` with only the outputs (dim 0) or inputs (dim 1) in `index`."""
    weight = linear.weight.index_select(dim, index).detach().clone()
    bias = linear.bias
    if bias is not None and dim == 0:
        bias = bias.index_select(0, index)
    kept = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    kept.weight.data.copy_(weight)
    if bias is not None:
        kept.bias.data.copy_(bias.detach())
    return kept.to(linear.weight.device)


def prune_layer(layer, heads: list[int], neurons: list[int]) -> None:
    """Keep only these attention heads and feed-forward neurons of `layer` (at least one of
    each): the weights are cut, so the layer is really smaller and faster."""
    if not heads or not neurons:
        raise ValueError("a layer keeps at least one attention head and one neuron")
    attention, attention_output, (intermediate, output) = layer_parts(layer)
    size = attention.attention_head_size
    rows = torch.tensor([h * size + i for h in sorted(heads) for i in range(size)])
    for name in ("query", "key", "value"):
        setattr(attention, name, _keep(getattr(attention, name), rows, 0))
    attention_output.dense = _keep(attention_output.dense, rows, 1)
    attention.num_attention_heads = len(heads)
    attention.all_head_size = len(heads) * size
    kept = torch.tensor(sorted(neurons))
    intermediate.dense = _keep(intermediate.dense, kept, 0)
    output.dense = _keep(output.dense, kept, 1)


def layer_sizes(model) -> dict[str, list[int]]:
    """Attention heads and feed-forward neurons of each encoder layer."""
    parts = [layer_parts(layer) for layer in encoder_layers(model)]
    return {
        "heads": [attention.num_attention_heads for attention, _, _ in parts],
        "neurons": [ffn[0].dense.out_features for _, _, ffn in parts],
    }


def _load_pruned(source, config):
    from safetensors.torch import load_file

    sizes = getattr(config, PRUNED)
    model = AutoModelForSequenceClassification.from_config(config)
    for layer, heads, neurons in zip(
        encoder_layers(model), sizes["heads"], sizes["neurons"], strict=True
    ):
        prune_layer(layer, list(range(heads)), list(range(neurons)))
    model.load_state_dict(load_file(str(Path(source) / "model.safetensors")), strict=True)
    return model


def model_labels(model) -> list[str]:
    """The labels of a model (or of its config), in output order."""
    config = getattr(model, "config", model)
    return [config.id2label[i] for i in range(config.num_labels)]


def label_space(model) -> LabelSpace:
    """The label space of a model, or of its config."""
    config = getattr(model, "config", model)
    multi = config.problem_type == HF_PROBLEM_TYPE[MULTI]
    separator = getattr(config, "label_separator", ",")
    return LabelSpace(tuple(model_labels(config)), MULTI if multi else SINGLE, separator)


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


AUTOCAST = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def native_bf16(device: torch.device) -> bool:
    """Whether `device` computes bf16 natively: a CUDA GPU with bf16, or a CPU with AVX-512 BF16
    or AMX (elsewhere bf16 is emulated, and slower than fp32)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # torch.cpu's own probes
    return device.type == "cpu" and any(getattr(torch.cpu, c, lambda: False)() for c in checks)


def resolve_precision(mixed_precision: str, device: torch.device) -> str:
    """The precision a model trains or runs in on `device`: fp32, bf16 or fp16 (autocast).
    `auto`: bf16 where the device has it natively, else fp32; fp16 needs a CUDA GPU (on other
    devices: fp32). A saved model records the precision it was trained in (its manifest), and
    runs in it where the device allows, the same way."""
    if mixed_precision in ("none", "fp32"):
        return "fp32"
    if mixed_precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    if mixed_precision == "fp16" and device.type != "cuda":
        return "fp32"
    return mixed_precision


def inference_precision(trained_in: str, device: torch.device) -> str:
    """The precision a model trained in `trained_in` runs in on `device`: a model trained
    with mixed precision runs under autocast too, where the device has bf16 natively."""
    return "fp32" if trained_in == "fp32" else resolve_precision("auto", device)


# --- dropout masks and attention on a CPU -----------------------------------------------------
# torch draws a CPU dropout mask with bernoulli_, which runs MKL's vectorised generator on Intel
# CPUs only; elsewhere (AMD) it is a serial loop of Mersenne twister draws on one core: 17 % of a
# bf16 MiniLM training step on 2 EPYC cores (bench/profile_step.py). numpy's PCG64 fills the
# same masks about ten times faster. Training swaps the model's dropout for FastDropout on a CPU
# (use_fast_dropout) and back before saving (plain_dropout). Inference on a CPU casts the
# weights once and takes the CPU attention too (for_cpu_inference).

CPU_ATTENTION = "textclf_cpu"
SHORT_KEYS = 64  # up to this many keys plain attention ran faster (bench/cpu_attention.py)


class FastDropout(nn.Dropout):
    """nn.Dropout whose mask comes from a numpy generator, on a CPU (elsewhere: nn.Dropout). The
    drop probability is rounded to a multiple of 1/65536 (16-bit draws)."""

    def __init__(self, p: float, generator: np.random.Generator):
        super().__init__(p)
        self.generator = generator

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0 or values.device.type != "cpu":
            return super().forward(values)
        threshold = round(self.p * 65536)
        draws = torch.frombuffer(
            bytearray(self.generator.bytes(2 * values.numel())), dtype=torch.int16
        )
        keep = draws.view(values.shape) >= threshold - 32768
        return values * (keep.to(values.dtype) * (65536 / (65536 - threshold)))


def use_fast_dropout(model, seed: int) -> bool:
    """Swap every nn.Dropout of `model` for a FastDropout drawing from one generator seeded
    with `seed`, and its attention for the CPU attention, which drops attention probabilities
    with it (where the model takes transformers' attention functions); True if the attention
    was swapped."""
    generator = np.random.default_rng(seed)
    for parent in model.modules():
        for name, child in parent.named_children():
            if type(child) is nn.Dropout:
                setattr(parent, name, FastDropout(child.p, generator).train(child.training))
    return use_cpu_attention(model)


def use_cpu_attention(model) -> bool:
    """Give `model` the CPU attention (_cpu_attention), where it takes transformers' attention
    functions; True if it has it now. The attention it had is kept for plain_dropout."""
    if not getattr(model, "_supports_attention_backend", False):
        return False
    _register_cpu_attention()
    if model.config._attn_implementation != CPU_ATTENTION:
        # on the module, not its config, so that nothing of the swap is ever saved in config.json
        model.textclf_previous_attention = model.config._attn_implementation
        model.set_attn_implementation(CPU_ATTENTION)
    return True


def for_cpu_inference(model, dtype=None):
    """`model`, changed in place, as it labels texts fastest on a CPU: its weights cast to
    `dtype` once (None: as they are), which is faster than autocast, since autocast casts every
    weight again in every batch (MiniLM in bf16 on 2 AVX-512 BF16 cores, one pass over
    WNUT-2020's valid texts: 1.08-1.10x the texts/s, bench/profile_step.py); and the CPU
    attention (use_cpu_attention)."""
    if dtype is not None:
        model.to(dtype)
    use_cpu_attention(model)
    return model


def plain_dropout(model) -> None:
    """Undo use_fast_dropout: nn.Dropout modules and the attention the model had."""
    for parent in model.modules():
        for name, child in parent.named_children():
            if isinstance(child, FastDropout):
                setattr(parent, name, nn.Dropout(child.p).train(child.training))
    previous = getattr(model, "textclf_previous_attention", None)
    if previous is not None:
        model.set_attn_implementation(previous)
        del model.textclf_previous_attention


def _cpu_attention(module, query, key, value, attention_mask, dropout=0.0, scaling=None, **kw):
    """transformers' SDPA attention, except on a CPU in two cases of an encoder's attention
    (the same heads for queries and keys, not causal), which run the plain products and
    softmax instead: in training with dropout where the module's `dropout` is the FastDropout
    of that probability (BERT-family attention; the probabilities are dropped by it, where SDPA
    would draw its own mask), and outside training where there are at most SHORT_KEYS keys
    (there the plain path ran faster than SDPA's fused CPU kernel, which pays off on longer
    sequences: bench/cpu_attention.py)."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    mine = getattr(module, "dropout", None)
    drops = module.training and dropout > 0 and isinstance(mine, FastDropout) and mine.p == dropout
    short = not module.training and key.shape[-2] <= SHORT_KEYS
    plain = (
        query.device.type == "cpu"
        and query.shape[1] == key.shape[1]
        and not getattr(module, "is_causal", False)
        and (drops or short)
    )
    if not plain:
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kw
        )
    scores = torch.matmul(query, key.transpose(-1, -2)) * (scaling or query.shape[-1] ** -0.5)
    if attention_mask is not None:
        if attention_mask.dtype == torch.bool:
            scores = scores.masked_fill(~attention_mask, torch.finfo(scores.dtype).min)
        else:
            scores = scores + attention_mask
    probabilities = scores.softmax(-1, dtype=torch.float32)
    if drops:
        probabilities = module.dropout(probabilities)
    return torch.matmul(probabilities.to(value.dtype), value).transpose(1, 2).contiguous(), None


def _register_cpu_attention() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(CPU_ATTENTION, _cpu_attention)
    AttentionMaskInterface.register(CPU_ATTENTION, sdpa_mask)
