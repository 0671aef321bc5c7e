"""prepare: one test per kind of bad input, each asserting the one-line message."""

import pytest

from textclf.prepare import prepare
from textclf.tsv import DataError, read_tsv

GOOD = {
    "train": 'id\ttext\tlabel\nt1\tcases rise\tINFO\nt2\tso bored\tCHAT\nt3\t"quoted\tINFO\n',
    "valid": "id\ttext\tlabel\nv1\tdeaths up\tINFO\nv2\tlol\tCHAT\n",
    "test": "id\ttext\nx1\tnew site opens\nx2\thaha\n",
}


def run(tmp_path, **replace):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    inputs = {}
    for split, content in {**GOOD, **replace}.items():
        inputs[split] = data / f"{split}.tsv"
        if content is None:
            continue
        if isinstance(content, bytes):
            inputs[split].write_bytes(content)
        else:
            inputs[split].write_text(content, encoding="utf-8")
    outputs = {split: tmp_path / "out" / f"{split}.tsv" for split in GOOD}
    return inputs, outputs, lambda: prepare(inputs, outputs)


def test_good_input_is_written_canonically(tmp_path):
    _, outputs, go = run(tmp_path)
    go()
    train = read_tsv(outputs["train"])
    assert train.columns.tolist() == ["id", "text", "label"]
    assert train["text"].tolist() == ["cases rise", "so bored", '"quoted']
    assert read_tsv(outputs["test"]).columns.tolist() == ["id", "text"]


def test_custom_columns_and_missing_ids(tmp_path):
    inputs, outputs, _ = run(
        tmp_path,
        train="tweet\tclass\na\tX\nb\tY\n",
        valid="tweet\tclass\nc\tX\n",
        test="tweet\nd\n",
    )
    prepare(inputs, outputs, text_column="tweet", label_column="class")
    assert read_tsv(outputs["train"]).to_dict("list") == {
        "id": ["train-1", "train-2"],
        "text": ["a", "b"],
        "label": ["X", "Y"],
    }


@pytest.mark.parametrize(
    "split, content, message",
    [
        ("test", None, r"data/test.tsv: file not found"),
        (
            "valid",
            "id\ttxt\tlabel\nv1\ta\tINFO\n",
            r"no 'text' column \(columns: id, txt",
        ),
        ("train", "id\ttext\nt1\ta\n", r"train.tsv: no 'label' column"),
        ("train", "id\ttext\tlabel\nt1\ta\tINFO\nt2\t \tCHAT\n", r"train.tsv: line 3: empty text"),
        (
            "valid",
            "id\ttext\tlabel\nv1\ta\tOTHER\n",
            r"valid.tsv: line 2: label 'OTHER' does not occur in train.tsv",
        ),
        (
            "train",
            "id\ttext\tlabel\nt1\ta\tINFO\nt1\tb\tCHAT\n",
            r"train.tsv: line 3: duplicate id 't1'",
        ),
        (
            "train",
            "id\ttext\tlabel\nt1\ta\tINFO\nt2\tb\tc\tCHAT\n",
            r"train.tsv: line 3: 4 fields where the header has 3 \(a stray tab",
        ),
        ("test", "", r"test.tsv: file is empty"),
        (
            "valid",
            b"id\ttext\tlabel\nv1\tcaf\xe9\tINFO\n",
            r"valid.tsv: line 2: bytes that are not UTF-8 \(byte 0xe9\)",
        ),
    ],
    ids=[
        "missing-file",
        "missing-text-column",
        "missing-label-column",
        "empty-text",
        "unseen-label",
        "duplicate-id",
        "stray-tab",
        "empty-file",
        "not-utf8",
    ],
)
def test_bad_input_is_one_clear_error_and_writes_nothing(tmp_path, split, content, message):
    _, outputs, go = run(tmp_path, **{split: content})
    with pytest.raises(DataError, match=message) as error:
        go()
    assert "\n" not in str(error.value)
    assert not (tmp_path / "out").exists()
