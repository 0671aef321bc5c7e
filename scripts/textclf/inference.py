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
from textclf.logs import Progress
from textclf.metrics import classification_metrics
from textclf.modeling import (
    AUTOCAST,
    for_cpu_inference,
    inference_precision,
    label_space,
    load_classifier,
    pick_device,
)
from textclf.predictor import Predictor
from textclf.registry import footprint, load_predictor, read_manifest
from textclf.tsv import DataError, atomic_path, read_tsv, write_csv, write_text, write_tsv

log = logging.getLogger("textclf")


class Classifier(Predictor):
    """A saved transformer checkpoint folder, loaded once, that labels texts. A model trained
    with mixed precision runs in bf16 too, where the device has it natively (on a CPU its
    weights are cast once: modeling.for_cpu_inference)."""

    def __init__(self, folder, threads: int = 1, max_length: int = 128):
        torch.set_num_threads(threads)
        self.model, self.tokenizer = load_classifier(str(folder))
        device = pick_device()
        self.model.to(device)
        trained_in = read_manifest(folder).get("precision", "fp32")
        self.precision = inference_precision(trained_in, device)
        if device.type == "cpu":
            for_cpu_inference(self.model, AUTOCAST[self.precision])
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
            self.model,
            encoded,
            self.tokenizer.pad_token_id,
            dtype=AUTOCAST[self.precision],
            progress="inference",
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


def run_predict(model_dir, test_tsv, out_csv, max_length=None, threads=1, scores=False):
    """prediction.csv from a saved model of any kind: id,label, and with `scores` the predicted
    label's probability (multi-label: the highest of the predicted labels')."""
    predictor = load_predictor(model_dir, threads, max_length)
    test = read_tsv(test_tsv)
    missing = [c for c in ("id", "text") if c not in test.columns]
    if missing:
        raise DataError(f"{test_tsv}: no {' or '.join(missing)} column (columns: {list(test)})")
    predicted = predictor.predict(test["text"])
    table = pd.DataFrame({"id": test["id"], "label": predicted["predicted"]})
    if scores:
        table["score"] = predicted["probability"].to_numpy()
    write_csv(table, out_csv)
    log.info("predict: %d rows by %s -> %s", len(test), model_dir, Path(out_csv))


# --- labelling texts like pipeline(): `python -m textclf predict --model FOLDER --text ...` ---

FORMATS = ("csv", "jsonl")


def read_texts(source) -> pd.DataFrame:
    """The texts to label, with an `id` column where the input has ids: "-" (standard input)
    or a .txt file, one text per line; a .tsv or .csv file with a `text` column; a .jsonl file
    of objects with `text`. A file that cannot be read raises DataError naming it."""
    import sys

    path = Path(str(source))
    if str(source) != "-" and not path.is_file():
        raise DataError(f"{source}: no such input file")
    try:
        if str(source) == "-" or path.suffix not in (".tsv", ".csv", ".jsonl"):
            lines = (sys.stdin if str(source) == "-" else path.open(encoding="utf-8")).read()
            return pd.DataFrame({"text": [line for line in lines.splitlines() if line.strip()]})
        if path.suffix == ".jsonl":
            table = pd.read_json(path, lines=True, dtype=False)
        else:
            table = pd.read_csv(
                path, sep="\t" if path.suffix == ".tsv" else ",", dtype=str, keep_default_na=False
            )
    except (UnicodeDecodeError, ValueError, pd.errors.ParserError) as error:
        raise DataError(f"{source}: cannot be read as {path.suffix[1:]} ({error})") from None
    if "text" not in table.columns:
        raise DataError(f"{source}: no text column (columns: {list(table.columns)})")
    table = table[[c for c in ("id", "text") if c in table.columns]].astype(str)
    return table.reset_index(drop=True)


def labelled(predictor: Predictor, texts: list[str], top_k: int = 1) -> list[dict]:
    """One record per text, as `pipeline()` gives: `label` and `score` (the top `top_k` as
    lists when top_k > 1); multi-label: every label at or above its threshold, with its
    probability, highest first."""
    probabilities = predictor.probabilities(texts)
    labels = predictor.space.labels
    records = []
    if predictor.space.multi_label:
        chosen = thresholds.apply_thresholds(probabilities, predictor.thresholds)
        for row, hot in zip(probabilities, chosen, strict=True):
            order = [i for i in row.argsort()[::-1] if hot[i]]
            records.append(
                {
                    "label": [labels[i] for i in order],
                    "score": [round(float(row[i]), 6) for i in order],
                }
            )
        return records
    for row in probabilities:
        order = row.argsort()[::-1][:top_k]
        label, score = [labels[i] for i in order], [round(float(row[i]), 6) for i in order]
        records.append(
            {"label": label, "score": score}
            if top_k > 1
            else {"label": label[0], "score": score[0]}
        )
    return records


def _csv_row(record: dict, separator: str) -> dict:
    if isinstance(record["label"], list):
        return {
            **{k: v for k, v in record.items() if k not in ("label", "score")},
            "label": separator.join(record["label"]),
            "score": separator.join(f"{s:g}" for s in record["score"]),
        }
    return record


def run_label(
    model_dir,
    texts: pd.DataFrame,
    out=None,
    fmt: str | None = None,
    top_k: int = 1,
    batch_size: int = 64,
    threads: int = 1,
    max_length: int | None = None,
) -> None:
    """Label `texts` (read_texts' table) with a saved model of any kind, no configuration
    needed, `batch_size` texts at a time: CSV (id where given, label, score; several labels
    or scores joined by the label separator) or JSON lines, to `out` (written whole or not at
    all) or standard output (a batch at a time)."""
    import sys

    fmt = fmt or ("jsonl" if out is not None and str(out).endswith(".jsonl") else "csv")
    if fmt not in FORMATS:
        raise DataError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    if top_k < 1 or batch_size < 1:
        raise DataError("--top-k and --batch-size: give numbers of at least 1")
    predictor = load_predictor(model_dir, threads, max_length)
    if top_k > 1 and predictor.space.multi_label:
        raise DataError("--top-k: a multi-label model gives every label over its threshold")
    separator = predictor.space.separator

    def write_all(stream) -> None:
        progress = Progress("predict", len(texts), "texts")
        for first in range(0, len(texts), batch_size):
            batch = texts.iloc[first : first + batch_size]
            records = labelled(predictor, batch["text"].tolist(), top_k)
            if "id" in batch:
                records = [{"id": i, **r} for i, r in zip(batch["id"], records, strict=True)]
            if fmt == "jsonl":
                stream.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
            else:
                rows = pd.DataFrame([_csv_row(r, separator) for r in records])
                rows.to_csv(stream, index=False, header=first == 0, lineterminator="\n")
            stream.flush()
            progress.advance(len(batch))

    if out is None:
        write_all(sys.stdout)
        return
    with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8", newline="") as stream:
        write_all(stream)
    log.info("predict: %d texts by %s -> %s", len(texts), model_dir, out)
