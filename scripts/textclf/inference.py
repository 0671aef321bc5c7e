"""Stages `mine`, `evaluate` and `predict`: apply a saved checkpoint to rows.

`mine` keeps the augmented rows the stage-1 model gets wrong (`misclassified.tsv`);
`evaluate` writes metrics JSON on valid and, where it has labels, test; `predict` writes
`prediction.csv` (id,label).
"""

from __future__ import annotations

import json

import pandas as pd
import torch

from textclf.metrics import classification_metrics
from textclf.modeling import load_classifier, model_labels, pick_device
from textclf.training import encode, predict_logits
from textclf.tsv import write_text


class Classifier:
    """A saved checkpoint folder, loaded once, that labels texts."""

    def __init__(self, folder, threads: int = 1, max_length: int = 128):
        torch.set_num_threads(threads)
        self.model, self.tokenizer = load_classifier(str(folder))
        self.model.to(pick_device())
        self.labels = model_labels(self.model)
        self.max_length = max_length

    def predict(self, texts) -> pd.DataFrame:
        """One row per text: predicted label and its probability."""
        encoded = encode(self.tokenizer, texts, self.max_length)
        probabilities = predict_logits(self.model, encoded, self.tokenizer.pad_token_id).softmax(-1)
        best = probabilities.max(-1)
        return pd.DataFrame(
            {
                "predicted": [self.labels[i] for i in best.indices.tolist()],
                "probability": best.values.numpy().round(6),
            }
        )


def hard_examples(classifier: Classifier, augmented: pd.DataFrame) -> pd.DataFrame:
    """The augmented rows whose predicted label differs from their label."""
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


def evaluate_splits(
    classifier: Classifier, splits: dict[str, pd.DataFrame], positive_label=None
) -> dict:
    """Metrics for every split that has labels."""
    results = {}
    for name, rows in splits.items():
        if "label" not in rows.columns:
            continue
        predicted = classifier.predict(rows["text"])["predicted"].tolist()
        results[name] = classification_metrics(
            rows["label"].tolist(), predicted, classifier.labels, positive_label
        )
    return results


def write_metrics(metrics: dict, path) -> None:
    write_text(json.dumps(metrics, indent=2) + "\n", path)
