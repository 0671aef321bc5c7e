"""Dataset preparation, the `prepare` stage's work: check the user's TSVs and write the
canonical splits.

Reads `<dataset>/{train,valid,test}.tsv` (valid.tsv is optional: without it a stratified,
seeded share of train becomes valid), writes `{train,valid,test}.tsv` with columns `id`,
`text`, `label` (`test` may have no label) and `dataset.json` (problem type, labels, separator,
row counts, leakage report). Every problem is reported as one line that names the file, the
line and what is wrong, before anything is written.
"""

from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from textclf.config import from_section, settings_class
from textclf.labels import LabelSpace, infer_problem_type
from textclf.preprocess import preprocessor
from textclf.tsv import DataError, read_tsv, write_text, write_tsv

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
    if label_required:
        # Real datasets repeat a row now and then (WNUT-2020's train.tsv holds 6 such tweets):
        # an exact repeat adds nothing, so it is dropped; a repeated id with other content is
        # an error below.
        repeated = split.duplicated()
        if repeated.any():
            lines = [str(i + 2) for i in repeated.to_numpy().nonzero()[0]]
            log.warning(
                "%s: dropped %d rows that repeat an earlier row exactly (lines %s)",
                path,
                len(lines),
                ", ".join(lines[:10]),
            )
            split = split[~repeated]
    duplicated = split["id"].duplicated()
    if duplicated.any():
        line = int(split.index[duplicated.to_numpy().argmax()]) + 2
        raise DataError(f"{path}: line {line}: duplicate id {split['id'][line - 2]!r}")
    return split.reset_index(drop=True)


@settings_class("data")
class DataSettings:
    problem_type: str  # auto | single_label | multi_label
    label_separator: str  # between the labels of a multi-label row
    valid_share: float  # share of train held out as valid when there is no valid.tsv
    split_seed: int
    max_train_rows: int | None  # a stratified, seeded sample of train; None = all
    leakage: str  # warn | error: texts found in more than one split
    preprocess: str  # none | tweet


def _stratify_key(labels: pd.Series) -> pd.Series:
    """The label field, with label (set)s seen once grouped together so every group has two
    rows or more, as stratified splitting needs."""
    counts = labels.map(labels.value_counts())
    key = labels.where(counts >= 2, "\0rare")
    if (key == "\0rare").sum() == 1:
        key = key.replace("\0rare", labels.value_counts().index[0])
    return key


def stratified_sample(rows: pd.DataFrame, size: float | int, seed: int, source) -> tuple:
    """(rest, sample): `size` rows (or share) drawn stratified by label, seeded; both keep the
    input order."""
    try:
        rest, sample = train_test_split(
            rows, test_size=size, random_state=seed, stratify=_stratify_key(rows["label"])
        )
    except ValueError as error:
        raise DataError(f"{source}: cannot draw a stratified sample of {size}: {error}") from None
    return rest.sort_index(), sample.sort_index()


def _leakage_key(text: pd.Series) -> pd.Series:
    return text.str.lower().str.split().str.join(" ")


def find_leakage(splits: dict[str, pd.DataFrame], examples: int = 5) -> dict:
    """For each pair of splits, the rows of the later one whose text (case and whitespace
    ignored) occurs in the earlier one."""
    keys = {name: _leakage_key(frame["text"]) for name, frame in splits.items()}
    report = {}
    for first, second in itertools.combinations(splits, 2):
        leaked = keys[second].isin(set(keys[first]))
        if leaked.any():
            report[f"{first}/{second}"] = {
                "rows": int(leaked.sum()),
                "first_row": int(leaked.to_numpy().argmax()),
                "examples": splits[second]["text"][leaked].head(examples).tolist(),
            }
    return report


def _canonical_labels(split: pd.DataFrame, space: LabelSpace, path) -> pd.DataFrame:
    """Multi-label fields rewritten as sorted, de-duplicated sets."""
    if not space.multi_label or "label" not in split:
        return split
    sets = split["label"].map(space.split)
    empty = sets.map(len) == 0
    if empty.any():
        line = int(empty.to_numpy().argmax()) + 2
        raise DataError(f"{path}: line {line}: no label between the separators {space.separator!r}")
    return split.assign(label=sets.map(space.join))


def prepare(
    inputs: dict[str, str | Path],
    outputs: dict[str, str | Path],
    text_column: str = "text",
    label_column: str = "label",
    data: dict | None = None,
) -> dict[str, pd.DataFrame]:
    """Validate every split `inputs[split]` (valid may be absent), then write them all to
    `outputs[split]` and `outputs["dataset"]`."""
    settings = from_section(DataSettings, data, "data")
    normalise = preprocessor(settings.preprocess)
    given = [name for name in SPLITS if name in inputs]
    splits = {
        name: read_split(inputs[name], text_column, label_column, label_required=name != "test")
        for name in given
    }
    problem_type = infer_problem_type(
        settings.problem_type, splits["train"]["label"], settings.label_separator
    )
    probe = LabelSpace((), problem_type, settings.label_separator)
    splits = {name: _canonical_labels(frame, probe, inputs[name]) for name, frame in splits.items()}
    known = sorted({label for value in splits["train"]["label"] for label in probe.split(value)})
    space = LabelSpace(tuple(known), problem_type, settings.label_separator)
    for name in ("valid", "test"):
        if name not in splits or "label" not in splits[name]:
            continue
        for row, value in enumerate(splits[name]["label"]):
            unknown = [label for label in space.split(value) if label not in known]
            if unknown:
                raise DataError(
                    f"{inputs[name]}: line {row + 2}: label {unknown[0]!r} does not occur in "
                    "train.tsv"
                )
    if len(known) < 2:
        raise DataError(f"{inputs['train']}: only one label ({', '.join(known)})")

    # Everything below only rearranges rows that passed the checks.
    if normalise is not None:
        splits = {name: f.assign(text=f["text"].map(normalise)) for name, f in splits.items()}
    valid_from_train = "valid" not in splits
    if valid_from_train:
        splits["train"], splits["valid"] = stratified_sample(
            splits["train"], settings.valid_share, settings.split_seed, inputs["train"]
        )
        log.info(
            "no valid.tsv: %d train rows held out as valid (stratified, seed %d)",
            len(splits["valid"]),
            settings.split_seed,
        )
    if settings.max_train_rows and settings.max_train_rows < len(splits["train"]):
        _, splits["train"] = stratified_sample(
            splits["train"], settings.max_train_rows, settings.split_seed, inputs["train"]
        )
        log.info("train: a stratified sample of %d rows", len(splits["train"]))
    splits = {name: splits[name].reset_index(drop=True) for name in SPLITS}

    leakage = find_leakage(splits)
    for pair, found in leakage.items():
        first, second = pair.split("/")
        message = (
            f"{found['rows']} {second} rows have a text that also occurs in {first}, "
            f"e.g. {found['examples'][0]!r}"
        )
        if settings.leakage == "error":
            where = inputs.get(second, inputs["train"])
            line = f"line {found['first_row'] + 2}: " if second in inputs else ""
            raise DataError(f"{where}: {line}{message} (data.leakage: error)")
        log.warning("leakage: %s", message)

    for name, frame in splits.items():
        write_tsv(frame, outputs[name])
        counts = frame["label"].value_counts().to_dict() if "label" in frame else "no labels"
        log.info("%s: %d rows, %s", name, len(frame), counts)
    summary = {
        **space.to_json(),
        "rows": {name: len(frame) for name, frame in splits.items()},
        "valid_from_train": valid_from_train,
        "preprocess": settings.preprocess,
        "leakage": leakage,
    }
    write_text(json.dumps(summary, indent=2) + "\n", outputs["dataset"])
    return splits
