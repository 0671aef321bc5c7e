"""The ensemble of an experiment's seeds: the mean of the probabilities of one model
(evaluation.ensemble) trained with each seed, a model kind like any other (evaluated,
compared, tracked, usable by predict).

Its folder holds only manifest.json, naming its members' folders relative to itself, so it
costs no disk and moves with the results folder; a multi-label ensemble labels with the mean
of its members' thresholds.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from textclf.predictor import Predictor
from textclf.registry import footprint, load_predictor, read_manifest, write_manifest


class EnsembleModel(Predictor):
    def __init__(self, members: list[Predictor]):
        spaces = {member.space for member in members}
        if len(spaces) != 1:
            raise ValueError("the ensemble's members do not share one label space")
        self.members = members
        self.space = members[0].space
        self.labels = list(self.space.labels)
        if self.space.multi_label:
            self.thresholds = np.mean([member.thresholds for member in members], axis=0)

    @classmethod
    def load(cls, folder, threads: int = 1, max_length: int | None = None) -> EnsembleModel:
        record = read_manifest(folder)
        members = [Path(folder) / member for member in record["members"]]
        missing = [str(m) for m in members if not m.exists()]
        if missing:
            raise FileNotFoundError(f"{folder}: its member {missing[0]} is not there")
        return cls([load_predictor(m, threads, max_length) for m in members])

    def probabilities(self, texts) -> np.ndarray:
        texts = list(texts)
        return np.mean([member.probabilities(texts) for member in self.members], axis=0)


def make_ensemble(member_folders: list, out_dir) -> None:
    """An ensemble folder over saved model folders of any kind (the seeds' of one model)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    costs = [footprint(folder) for folder in member_folders]
    write_manifest(
        out,
        "ensemble",
        parameters=sum(cost["parameters"] for cost in costs),
        train_seconds=sum(cost["train_seconds"] for cost in costs),
        members=[
            os.path.relpath(Path(folder).resolve(), out.resolve()) for folder in member_folders
        ],
        averaged=[read_manifest(folder)["kind"] for folder in member_folders][0],
    )
