"""The one way this project reads and writes tables, and writes any file atomically.

TSVs are read with no quoting (texts may start with a double quote), no NA parsing and every
column as a string. Every output is written to a temporary sibling and renamed into place, so
an interrupted step never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd


class DataError(ValueError):
    """Bad input a user can fix; the message names the file, the row and the problem."""


def read_tsv(path: str | Path) -> pd.DataFrame:
    return pd.read_csv(
        path,
        sep="\t",
        quoting=csv.QUOTE_NONE,
        keep_default_na=False,
        dtype=str,
        encoding="utf-8",
    )


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path next to `path`; rename it onto `path` only if the block succeeds.

    Works for files and directories alike.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent)) / path.name
    try:
        yield tmp
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp.parent, ignore_errors=True)


def write_tsv(frame: pd.DataFrame, path: str | Path) -> None:
    for column in frame.columns:
        values = frame[column].astype(str)
        bad = values.str.contains(r"[\t\r\n]", regex=True)
        if bad.any():
            raise DataError(
                f"{path}: column {column!r} of row {int(bad.to_numpy().argmax()) + 1} "
                "holds a tab or newline, which a TSV without quoting cannot store"
            )
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=False, quoting=csv.QUOTE_NONE, lineterminator="\n")


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n")


def write_text(text: str, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
