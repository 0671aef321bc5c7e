"""Stage `prepare`: check the user's TSVs and write the canonical splits.

Reads `<dataset>/{train,valid,test}.tsv`, writes `{train,valid,test}.tsv` with columns `id`,
`text`, `label` (`test` may have no label). Every problem is reported as one line that names the
file, the line and what is wrong, before anything is written.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from textclf.tsv import DataError, read_tsv, write_tsv

SPLITS = ("train", "valid", "test")
log = logging.getLogger(__name__)


def _check_raw(path: Path) -> None:
    """Checks that need the raw bytes: existence, emptiness, encoding, field counts."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"{path}: file is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(
            f"{path}: line {line}: bytes that are not UTF-8 (byte {raw[err.start]:#04x})"
        ) from None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    expected = lines[0].count("\t") + 1
    for number, line in enumerate(lines[1:], start=2):
        fields = line.rstrip("\r").count("\t") + 1
        if fields != expected:
            raise DataError(
                f"{path}: line {number}: {fields} fields where the header has {expected} "
                "(a stray tab in the text?)"
            )
    if len(lines) < 2:
        raise DataError(f"{path}: header only, no rows")


def read_split(
    path: str | Path, text_column: str, label_column: str, label_required: bool
) -> pd.DataFrame:
    """Read one split into columns id, text[, label], or raise DataError."""
    path = Path(path)
    _check_raw(path)
    table = read_tsv(path)
    if text_column not in table.columns:
        raise DataError(f"{path}: no {text_column!r} column (columns: {', '.join(table.columns)})")
    has_label = label_column in table.columns
    if label_required and not has_label:
        raise DataError(f"{path}: no {label_column!r} column (columns: {', '.join(table.columns)})")
    ids = (
        table["id"]
        if "id" in table.columns
        else pd.Series([f"{path.stem}-{n}" for n in range(1, len(table) + 1)])
    )
    split = pd.DataFrame({"id": ids.str.strip(), "text": table[text_column].str.strip()})
    if has_label:
        split["label"] = table[label_column].str.strip()

    def line_of(mask: pd.Series) -> int:
        return int(mask.to_numpy().argmax()) + 2  # +1 for the header, +1 for 1-based lines

    for column in ("id", "text") + (("label",) if has_label else ()):
        empty = split[column] == ""
        if empty.any():
            raise DataError(f"{path}: line {line_of(empty)}: empty {column}")
    duplicated = split["id"].duplicated()
    if duplicated.any():
        line = line_of(duplicated)
        raise DataError(f"{path}: line {line}: duplicate id {split['id'][line - 2]!r}")
    return split


def prepare(
    inputs: dict[str, str | Path],
    outputs: dict[str, str | Path],
    text_column: str = "text",
    label_column: str = "label",
) -> dict[str, pd.DataFrame]:
    """Validate every split `inputs[split]`, then write them all to `outputs[split]`."""
    splits = {
        name: read_split(inputs[name], text_column, label_column, label_required=name != "test")
        for name in SPLITS
    }
    known = set(splits["train"]["label"])
    for name in ("valid", "test"):
        if "label" not in splits[name]:
            continue
        unknown = ~splits[name]["label"].isin(known)
        if unknown.any():
            row = int(unknown.to_numpy().argmax())
            raise DataError(
                f"{inputs[name]}: line {row + 2}: label "
                f"{splits[name]['label'][row]!r} does not occur in train.tsv"
            )
    if len(known) < 2:
        raise DataError(f"{inputs['train']}: only one label ({', '.join(known)})")
    for name, frame in splits.items():
        write_tsv(frame, outputs[name])
        counts = frame["label"].value_counts().to_dict() if "label" in frame else "no labels"
        log.info("%s: %d rows, %s", name, len(frame), counts)
    return splits
