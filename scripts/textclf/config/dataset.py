"""What can be known of an experiment's dataset before `prepare` runs: its problem type and
the label fields of its train.tsv, read once per file version."""

from __future__ import annotations

import functools
from pathlib import Path

from textclf.labels import infer_problem_type


def dataset_labels(settings: dict) -> tuple[str | None, set[str]]:
    """(problem type, label fields of train.tsv) as far as they can be known before `prepare`
    runs: the configured problem type, or for `auto` the one `prepare` will infer from
    train.tsv; (None, empty) while the dataset is not there yet (a download will bring it)."""
    configured = settings["data"]["problem_type"]
    path = Path(settings["dataset"]) / "train.tsv"
    fields = _label_fields(path, settings["columns"]["label"], _modified(path))
    if fields is None:  # no file yet, or no such column (prepare names it with the file)
        return (None if configured == "auto" else configured), set()
    separator = settings["data"]["label_separator"]
    return infer_problem_type(configured, fields, separator), fields


def _modified(path: Path) -> int | None:
    return path.stat().st_mtime_ns if path.exists() else None


@functools.cache
def _label_fields(path: Path, column: str, modified: int | None) -> frozenset[str] | None:
    """The distinct label fields of a TSV, read once per parse (the Snakefile asks often)."""
    if modified is None:
        return None
    with open(path, encoding="utf-8", errors="replace") as lines:
        header = next(lines, "").rstrip("\r\n").split("\t")
        if column not in header:
            return None
        index = header.index(column)
        return frozenset(
            line.rstrip("\r\n").split("\t")[index]
            for line in lines
            if line.strip() and len(line.split("\t")) > index
        )
