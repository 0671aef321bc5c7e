"""Compressed copies of a trained transformer classifier, each a model kind of its own
(textclf.registry), evaluated and compared like every other model.

- `onnx`: the model exported to ONNX (torch's dynamo exporter; dynamic batch and sequence
  length) and fused for ONNX Runtime (export_onnx), run by ONNX Runtime; the export is checked
  against torch's logits before it is kept.
- `onnx-int8`: the same with its Linear layers' and fused attention's weights in int8 (a scale
  per output channel) and activations quantized on the fly (ONNX Runtime's dynamic
  quantization, which uses AVX-512 VNNI where the CPU has it).
- `pruned-onnx-int8`, `distilled-onnx-int8`: `onnx-int8` made from the pruned or the distilled
  model instead of the final one (textclf.registry: a kind's `source`).

A saved ONNX folder holds `model.onnx`, the tokenizer, `config.json` (labels), the manifest and,
for multi-label models, `thresholds.json` tuned again on valid for this model. Load it with

    from textclf.registry import load_predictor
    load_predictor("results/demo/compressed/onnx-int8").predict(["some text"])
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from transformers import AutoConfig, AutoTokenizer

from textclf import thresholds
from textclf.config import from_section
from textclf.encoding import (
    collate,
    encode,
    logits_in_order,
    predict_logits,
    probabilities_of,
)
from textclf.modeling import label_space, load_classifier
from textclf.predictor import Predictor
from textclf.registry import text_facts, write_manifest
from textclf.training import TrainSettings
from textclf.tsv import atomic_path

log = logging.getLogger(__name__)
ONNX_FILE = "model.onnx"
TOLERANCE = 1e-3  # largest logit difference an fp32 export may show against torch
CHECKED_ROWS = 256  # valid texts the export is checked on


class OnnxModel(Predictor):
    """An ONNX folder run by ONNX Runtime on the CPU, `threads` threads."""

    def __init__(self, folder, threads: int = 1, max_length: int = 128):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(Path(folder) / ONNX_FILE), options, providers=["CPUExecutionProvider"]
        )
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.space = label_space(AutoConfig.from_pretrained(folder))
        self.max_length = max_length
        self.load_thresholds(folder)

    @classmethod
    def load(cls, folder, threads: int = 1, max_length: int = 128) -> OnnxModel:
        return cls(folder, threads, max_length)

    def logits(self, texts) -> torch.Tensor:
        def run(batch):
            feed = {name: batch[name].numpy() for name in self.inputs}
            return torch.from_numpy(self.session.run(["logits"], feed)[0])

        encoded = encode(self.tokenizer, texts, self.max_length)
        pad_id, labels = self.tokenizer.pad_token_id, len(self.space.labels)
        return logits_in_order(run, encoded, pad_id, labels, progress="inference")

    def probabilities(self, texts) -> np.ndarray:
        return probabilities_of(self.logits(texts), self.space)


def export_onnx(model, tokenizer, path) -> None:
    """`model` as ONNX at `path`, with dynamic batch and sequence dimensions, in the form ONNX
    Runtime runs fastest: torch's dynamo exporter, then onnxscript's ONNX Runtime fusions
    (Attention, SkipLayerNormalization, BiasGelu where the graph has the pattern: BERT-family
    encoders; MPNet's attention, with its relative position bias, stays unfused) and constant
    folding (the fused attention's packed weights become one initializer)."""
    import onnxscript.optimizer
    from onnxscript.rewriter import ort_fusions

    sample = collate(
        encode(tokenizer, ["a short text", "a somewhat longer text to trace the model"], 32),
        tokenizer.pad_token_id,
        "cpu",
    )
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
    program = torch.onnx.export(
        model.eval(),
        (),
        kwargs=sample,
        dynamo=True,
        dynamic_shapes={name: {0: batch, 1: sequence} for name in sample},
        input_names=list(sample),
        output_names=["logits"],
        verbose=False,
    )
    graph, fused = ort_fusions.optimize_for_ort(program.model)
    onnxscript.optimizer.optimize(graph, input_size_limit=2**31, output_size_limit=2**31)
    for node in graph.graph:
        # equal sizes are the default; with the attribute set, ONNX Runtime's quantizer leaves
        # the Attention unquantized (QAttention has no such attribute)
        sizes = node.attributes.get("qkv_hidden_sizes")
        if node.op_type == "Attention" and sizes is not None and len(set(sizes.as_ints())) == 1:
            del node.attributes["qkv_hidden_sizes"]
    log.info("ONNX fusions: %s", {name: n for name, n in fused.items() if n} or "none")
    program.model = graph
    program.save(str(path))


def quantize_int8(source, target) -> None:
    """Dynamic int8 quantization of the MatMuls with constant weights (the Linear layers) and
    of the fused Attention nodes (QAttention), a scale per output channel: as fast as one per
    tensor, and closer to fp32 (MiniLM on WNUT-2020 valid: 99.2 % of predictions unchanged
    against 97.3 %)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(source),
        str(target),
        per_channel=True,
        op_types_to_quantize=["MatMul", "Attention"],
        weight_type=QuantType.QInt8,
        extra_options={"MatMulConstBOnly": True},
    )


def run_compress_onnx(
    kind: str,
    model_dir,
    valid_rows,
    settings: dict,
    out_dir,
    threads: int = 1,
    max_length: int = 128,
) -> None:
    """Rule `compress`, the ONNX kinds: export the trained model in `model_dir`, check the
    export against torch on the valid texts, quantize for the int8 kinds, and tune a
    multi-label model's thresholds again on valid."""
    started = time.perf_counter()
    torch.set_num_threads(threads)
    model, tokenizer = load_classifier(str(model_dir))
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        log.info("%s: exporting %s to ONNX", kind, model_dir)
        export_onnx(model, tokenizer, tmp / ONNX_FILE)
        log.info("%s: exported in %.0f s", kind, time.perf_counter() - started)
        tokenizer.save_pretrained(tmp)
        model.config.save_pretrained(tmp)
        if (Path(model_dir) / thresholds.FILE).exists():
            shutil.copy(Path(model_dir) / thresholds.FILE, tmp / thresholds.FILE)
        facts = {"source": str(model_dir), "precision": "fp32", **text_facts(model_dir, max_length)}
        exported = OnnxModel(tmp, threads, max_length)
        difference = _largest_difference(model, exported, valid_rows["text"].head(CHECKED_ROWS))
        if difference > TOLERANCE:
            raise RuntimeError(
                f"{model_dir}: the ONNX export's logits differ from torch's by {difference:.2g} "
                f"on the valid texts (more than {TOLERANCE})"
            )
        log.info("ONNX export matches torch: largest logit difference %.2g", difference)
        if kind.endswith("int8"):
            fp32 = tmp / "fp32.onnx"
            (tmp / ONNX_FILE).rename(fp32)
            log.info("%s: quantizing the MatMul weights to int8", kind)
            quantize_int8(fp32, tmp / ONNX_FILE)
            log.info("%s: quantized; %.0f s so far", kind, time.perf_counter() - started)
            fp32.unlink()
            facts["precision"] = "int8"
        predictor = OnnxModel(tmp, threads, max_length)
        if predictor.space.multi_label:
            _retune_thresholds(predictor, valid_rows, settings, tmp)
        seconds = time.perf_counter() - started
        write_manifest(tmp, kind, model.num_parameters(), seconds, **facts)
    log.info("%s: %s in %.0f s", kind, Path(out_dir), time.perf_counter() - started)


def _largest_difference(model, exported: OnnxModel, texts) -> float:
    """The largest difference between torch's logits (fp32) and the export's on `texts`."""
    encoded = encode(exported.tokenizer, texts, exported.max_length)
    reference = predict_logits(model, encoded, exported.tokenizer.pad_token_id)
    return float((reference - exported.logits(texts)).abs().max())


def _retune_thresholds(predictor: Predictor, valid_rows, settings: dict, folder) -> None:
    """A multi-label model's thresholds, tuned on valid for this model's own probabilities."""
    train_settings = from_section(TrainSettings, settings, "train")
    space = predictor.space
    probabilities = predictor.probabilities(valid_rows["text"])
    gold = space.targets(valid_rows["label"]) > 0
    average = thresholds.average_for(train_settings.selection_metric(space))
    record = thresholds.tune(
        probabilities, gold, list(space.labels), train_settings.threshold, average
    )
    thresholds.save(record, folder)
    log.info("thresholds tuned again on valid: global %.3f", record["global"])
