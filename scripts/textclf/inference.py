"""A saved model applied to rows: evaluation and prediction (the entry points of the
`evaluate` and `predict` stages in textclf.stages call these; mining is textclf.mining).

`evaluate` writes metrics JSON and a per-class TSV on valid and, where it has labels, test;
`predict` writes `prediction.csv` (id,label; multi-label: the label set joined by the separator).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import torch

from textclf import significance, thresholds
from textclf.encoding import encode, predict_logits, probabilities_of
from textclf.metrics import classification_metrics
from textclf.modeling import (
    AUTOCAST,
    inference_precision,
    label_space,
    load_classifier,
    pick_device,
)
from textclf.predictor import Predictor
from textclf.registry import footprint, load_predictor, read_manifest
from textclf.tsv import read_tsv, write_csv, write_text, write_tsv

log = logging.getLogger("textclf")


class Classifier(Predictor):
    """A saved transformer checkpoint folder, loaded once, that labels texts. A model trained
    with mixed precision runs under autocast too, where the device has it natively."""

    def __init__(self, folder, threads: int = 1, max_length: int = 128):
        torch.set_num_threads(threads)
        self.model, self.tokenizer = load_classifier(str(folder))
        device = pick_device()
        self.model.to(device)
        trained_in = read_manifest(folder).get("precision", "fp32")
        self.precision = inference_precision(trained_in, device)
        self.space = label_space(self.model)
        self.labels = list(self.space.labels)
        self.max_length = max_length
        self.load_thresholds(folder)

    @classmethod
    def load(cls, folder, threads: int = 1, max_length: int = 128) -> Classifier:
        return cls(folder, threads, max_length)

    def probabilities(self, texts):
        encoded = encode(self.tokenizer, texts, self.max_length)
        logits = predict_logits(
            self.model, encoded, self.tokenizer.pad_token_id, dtype=AUTOCAST[self.precision]
        )
        return probabilities_of(logits, self.space)


def evaluate_splits(
    predictor: Predictor,
    splits: dict[str, pd.DataFrame],
    positive_label=None,
    evaluation: dict | None = None,
):
    """(metrics for every split that has labels, valid probabilities as a table, every
    labelled row's gold and predicted label as a table). With `evaluation` (its resamples,
    confidence and seed), each split's metrics carry their bootstrap `intervals`."""
    results, valid_table, predicted_rows = {}, None, []
    for name, rows in splits.items():
        if "label" not in rows.columns:
            continue
        probabilities = predictor.probabilities(rows["text"])
        predicted = thresholds.label_fields(predictor.space, probabilities, predictor.thresholds)
        gold = rows["label"].tolist()
        results[name] = classification_metrics(gold, predicted, predictor.space, positive_label)
        if evaluation is not None:
            scored = significance.scored_fields(predictor.space, gold, predicted, positive_label)
            found = significance.intervals(
                scored, evaluation["resamples"], evaluation["confidence"], evaluation["seed"]
            )
            results[name]["intervals"] = {
                k: [round(lo, 6), round(hi, 6)] for k, (lo, hi) in found.items()
            }
        predicted_rows.append(
            pd.DataFrame(
                {"split": name, "id": rows["id"].to_numpy(), "label": gold, "predicted": predicted}
            )
        )
        if name == "valid":
            valid_table = pd.concat(
                [
                    rows[["id", "label"]].reset_index(drop=True),
                    pd.DataFrame(probabilities.round(6), columns=predictor.space.labels),
                ],
                axis=1,
            )
    if evaluation is not None:
        results["bootstrap"] = {
            key: evaluation[key] for key in ("resamples", "confidence", "seed")
        } | {"method": "percentile, scipy.stats.bootstrap over rows"}
    columns = ["split", "id", "label", "predicted"]
    table = pd.concat(predicted_rows) if predicted_rows else pd.DataFrame(columns=columns)
    return results, valid_table, table.reset_index(drop=True)


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


def write_metrics(
    metrics: dict, path, per_class_path=None, probabilities=None, probabilities_path=None
) -> None:
    write_text(json.dumps(metrics, indent=2) + "\n", path)
    if per_class_path is not None:
        write_tsv(per_class_table(metrics), per_class_path)
    if probabilities_path is not None:
        write_tsv(probabilities.astype(str), probabilities_path)


def run_evaluate(
    model_dir,
    split_tsvs: dict,
    out_json,
    positive_label=None,
    max_length=128,
    threads=1,
    out_per_class=None,
    out_probabilities=None,
    evaluation: dict | None = None,
    out_predictions=None,
):
    predictor = load_predictor(model_dir, threads, max_length)
    splits = {name: read_tsv(path) for name, path in split_tsvs.items()}
    metrics, probabilities, predicted = evaluate_splits(
        predictor, splits, positive_label, evaluation
    )
    metrics |= {"model": str(model_dir), **footprint(model_dir)}
    for name, values in metrics.items():
        if isinstance(values, dict) and "accuracy" in values:
            log.info(
                "%s: accuracy %.4f, macro-F1 %.4f", name, values["accuracy"], values["f1_macro"]
            )
    write_metrics(metrics, out_json, out_per_class, probabilities, out_probabilities)
    if out_predictions is not None:
        write_tsv(predicted, out_predictions)


def run_predict(model_dir, test_tsv, out_csv, max_length=128, threads=1):
    """prediction.csv from a saved model of any kind."""
    predictor = load_predictor(model_dir, threads, max_length)
    test = read_tsv(test_tsv)
    predicted = predictor.predict(test["text"])["predicted"]
    write_csv(pd.DataFrame({"id": test["id"], "label": predicted}), out_csv)
    log.info("predict: %d rows by %s -> %s", len(test), model_dir, Path(out_csv))
