"""The label space of an experiment: single-label or multi-label, and how label sets are written.

`prepare` decides the problem type (configured, or inferred: a label that contains the
separator means multi-label) and writes it to `data/dataset.json`; training reads it from there,
and every later stage reads it from the saved checkpoint. A multi-label row's `label` field is
its labels in sorted order joined by the separator, so two equal sets are equal strings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

SINGLE, MULTI = "single_label", "multi_label"


@dataclass(frozen=True)
class LabelSpace:
    labels: tuple[str, ...]
    problem_type: str = SINGLE
    separator: str = ","

    @property
    def multi_label(self) -> bool:
        return self.problem_type == MULTI

    def split(self, value: str) -> list[str]:
        """The labels of one `label` field."""
        if not self.multi_label:
            return [value]
        return [part.strip() for part in value.split(self.separator) if part.strip()]

    def join(self, labels: Iterable[str]) -> str:
        return self.separator.join(sorted(set(labels)))

    def targets(self, values: Iterable[str]) -> np.ndarray:
        """Class ids (single-label) or a multi-hot float matrix (multi-label)."""
        import numpy as np  # here, not above: the Snakefile imports this module without numpy

        index = {label: i for i, label in enumerate(self.labels)}
        if not self.multi_label:
            return np.array([index[v] for v in values], dtype=np.int64)
        values = list(values)
        hot = np.zeros((len(values), len(self.labels)), dtype=np.float32)
        for row, value in enumerate(values):
            for label in self.split(value):
                hot[row, index[label]] = 1.0
        return hot

    def decode(self, hot_row: Iterable[bool]) -> str:
        return self.join(label for label, on in zip(self.labels, hot_row, strict=True) if on)

    def to_json(self) -> dict:
        return {
            "problem_type": self.problem_type,
            "separator": self.separator,
            "labels": list(self.labels),
        }

    @classmethod
    def from_json(cls, data: dict) -> LabelSpace:
        return cls(tuple(data["labels"]), data["problem_type"], data["separator"])

    @classmethod
    def read(cls, dataset_json) -> LabelSpace:
        """The label space `prepare` wrote to dataset.json."""
        return cls.from_json(json.loads(Path(dataset_json).read_text()))


def infer_problem_type(configured: str, raw_labels: Iterable[str], separator: str) -> str:
    """`auto` means multi-label when any label field holds the separator."""
    if configured != "auto":
        return configured
    return MULTI if any(separator in value for value in raw_labels) else SINGLE
