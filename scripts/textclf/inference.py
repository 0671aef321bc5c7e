"""Stages `mine`, `evaluate` and `predict`: apply a saved checkpoint to rows.

`mine` keeps the augmented rows the stage-1 model gets wrong (`misclassified.tsv`; for
multi-label, rows whose predicted label set differs from their label set); `evaluate` writes
metrics JSON and a per-class TSV on valid and, where it has labels, test; `predict` writes
`prediction.csv` (id,label; multi-label: the label set joined by the separator).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from textclf import thresholds
from textclf.labels import LabelSpace
from textclf.metrics import classification_metrics
from textclf.modeling import label_space, load_classifier, pick_device
from textclf.training import encode, predict_logits, probabilities_of
from textclf.tsv import read_tsv, write_text, write_tsv


class Predictor:
    """What every saved model offers: `probabilities(texts)`, and `predict(texts)` from them
    with the model's label space and thresholds."""

    space: LabelSpace
    thresholds: np.ndarray | None = None

    def probabilities(self, texts) -> np.ndarray:
        raise NotImplementedError

    def predict(self, texts) -> pd.DataFrame:
        """One row per text: predicted label (or label set) and the top probability."""
        probabilities = self.probabilities(texts)
        return pd.DataFrame({
            "predicted": thresholds.label_fields(self.space, probabilities, self.thresholds),
            "probability": probabilities.max(-1).round(6),
        })  # fmt: skip


class Classifier(Predictor):
    """A saved checkpoint folder, loaded once, that labels texts."""

    def __init__(self, folder, threads: int = 1, max_length: int = 128):
        torch.set_num_threads(threads)
        self.model, self.tokenizer = load_classifier(str(folder))
        self.model.to(pick_device())
        self.space = label_space(self.model)
        self.labels = list(self.space.labels)
        self.max_length = max_length
        self.thresholds = None
        if self.space.multi_label:
            record = thresholds.load(folder)
            if record is None:
                raise FileNotFoundError(f"{folder}: multi-label model without {thresholds.FILE}")
            self.thresholds = thresholds.chosen(record, self.labels)

    def probabilities(self, texts) -> np.ndarray:
        """Softmax (single-label) or sigmoid (multi-label) outputs, one row per text."""
        encoded = encode(self.tokenizer, texts, self.max_length)
        logits = predict_logits(self.model, encoded, self.tokenizer.pad_token_id)
        return probabilities_of(logits, self.space)


def hard_examples(classifier: Classifier, augmented: pd.DataFrame) -> pd.DataFrame:
    """The augmented rows whose predicted label (set) differs from their label (set)."""
    if augmented.empty:
        return augmented.assign(predicted=[], probability=[])
    predictions = classifier.predict(augmented["text"])
    scored = pd.concat([augmented.reset_index(drop=True), predictions], axis=1)
    return scored[scored["predicted"] != scored["label"]].reset_index(drop=True)


def mix_for_stage2(
    original: pd.DataFrame, hard: pd.DataFrame, original_per_hard: float, seed: int
) -> pd.DataFrame:
    """All hard rows plus `original_per_hard` original rows per hard row (capped at the
    training set), sampled with a seed, shuffled."""
    n_original = min(len(original), round(original_per_hard * len(hard)))
    sampled = original.sample(n=n_original, random_state=seed)
    mixed = pd.concat([sampled[["id", "text", "label"]], hard[["id", "text", "label"]]])
    return mixed.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def load_predictor(folder, threads: int = 1, max_length: int = 128) -> Predictor:
    """A transformer checkpoint folder or a baseline folder (it holds baseline.json)."""
    if (Path(folder) / "baseline.json").exists():
        from textclf.baselines import BaselineClassifier

        torch.set_num_threads(threads)
        return BaselineClassifier(folder)
    return Classifier(folder, threads, max_length)


def footprint(folder) -> dict:
    """Parameters, size on disk and training time of a saved model folder."""
    folder = Path(folder)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    if (folder / "baseline.json").exists():
        description = json.loads((folder / "baseline.json").read_text())
        parameters, seconds = description["parameters"], description["train_seconds"]
    else:
        from safetensors import safe_open

        with safe_open(folder / "model.safetensors", "pt") as weights:
            parameters = sum(int(np.prod(weights.get_slice(k).get_shape())) for k in weights.keys())
        seconds = read_tsv(folder / "history.tsv")["seconds"].astype(float).sum()
    return {"parameters": int(parameters), "size_bytes": size, "train_seconds": round(seconds, 2)}


def evaluate_splits(predictor: Predictor, splits: dict[str, pd.DataFrame], positive_label=None):
    """(metrics for every split that has labels, valid probabilities as a table). The
    metrics also hold the inference time per 1,000 texts, measured on valid."""
    results, valid_table = {}, None
    for name, rows in splits.items():
        if "label" not in rows.columns:
            continue
        started = time.perf_counter()
        probabilities = predictor.probabilities(rows["text"])
        seconds = time.perf_counter() - started
        predicted = thresholds.label_fields(predictor.space, probabilities, predictor.thresholds)
        results[name] = classification_metrics(
            rows["label"].tolist(), predicted, predictor.space, positive_label
        )
        if name == "valid":
            results["inference_seconds_per_1000"] = round(1000 * seconds / max(len(rows), 1), 3)
            valid_table = pd.concat([
                rows[["id", "label"]].reset_index(drop=True),
                pd.DataFrame(probabilities.round(6), columns=predictor.space.labels),
            ], axis=1)  # fmt: skip
    return results, valid_table


def per_class_table(metrics: dict) -> pd.DataFrame:
    """split, label, support, precision, recall, f1: one row per split and class."""
    rows = [
        {"split": name, **entry}
        for name, values in metrics.items()
        if isinstance(values, dict) and "per_class" in values
        for entry in values["per_class"]
    ]
    columns = ["split", "label", "support", "precision", "recall", "f1"]
    table = pd.DataFrame(rows, columns=columns)
    for column in ("precision", "recall", "f1"):
        table[column] = table[column].round(6)
    return table


def write_metrics(metrics: dict, path, per_class_path=None, probabilities=None,
                  probabilities_path=None) -> None:  # fmt: skip
    write_text(json.dumps(metrics, indent=2) + "\n", path)
    if per_class_path is not None:
        write_tsv(per_class_table(metrics), per_class_path)
    if probabilities_path is not None:
        write_tsv(probabilities.astype(str), probabilities_path)
