"""What every saved model offers, whatever its kind: `probabilities(texts)`, and `predict(texts)`
from them with the model's label space and thresholds. A kind of model (textclf.registry) is a
subclass that can `load` its saved folder."""

from __future__ import annotations

import numpy as np
import pandas as pd

from textclf import thresholds
from textclf.labels import LabelSpace
from textclf.preprocess import preprocessor


class Predictor:
    space: LabelSpace
    thresholds: np.ndarray | None = None

    @classmethod
    def load(cls, folder, threads: int = 1, max_length: int = 128) -> Predictor:
        raise NotImplementedError

    def probabilities(self, texts) -> np.ndarray:
        """Softmax (single-label) or sigmoid (multi-label) outputs, one row per text."""
        raise NotImplementedError

    def predict(self, texts) -> pd.DataFrame:
        """One row per text: predicted label (or label set) and its probability (multi-label:
        the highest of the predicted labels', which per-label thresholds may leave below the
        highest of all)."""
        probabilities = self.probabilities(texts)
        top = probabilities.max(-1)
        if self.space.multi_label:
            chosen = thresholds.apply_thresholds(probabilities, self.thresholds)
            top = np.where(chosen, probabilities, -np.inf).max(-1)
        return pd.DataFrame(
            {
                "predicted": thresholds.label_fields(self.space, probabilities, self.thresholds),
                "probability": top.round(6),
            }
        )

    def load_thresholds(self, folder) -> None:
        """A multi-label model's chosen thresholds from `thresholds.json` in its folder."""
        if not self.space.multi_label:
            return
        record = thresholds.load(folder)
        if record is None:
            raise FileNotFoundError(f"{folder}: multi-label model without {thresholds.FILE}")
        self.thresholds = thresholds.chosen(record, list(self.space.labels))


class Preprocessed(Predictor):
    """A loaded predictor whose raw texts are first normalised as its training data were
    (`data.preprocess`, recorded in the model's manifest). The normalisation is idempotent, so
    texts `prepare` already normalised come out the same."""

    def __init__(self, inner: Predictor, name: str):
        self.inner, self.preprocess, self.normalise = inner, name, preprocessor(name)
        self.space, self.thresholds = inner.space, inner.thresholds

    def probabilities(self, texts) -> np.ndarray:
        return self.inner.probabilities([self.normalise(text) for text in texts])

    def __getattr__(self, name):  # the wrapped kind's own attributes (model, tokenizer, ...)
        return getattr(self.__dict__["inner"], name)
