"""prepare: one test per kind of bad input, each asserting the one-line message."""

import json

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
    outputs["dataset"] = tmp_path / "out" / "dataset.json"
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


def prepared(tmp_path, data=None, **replace):
    inputs, outputs, _ = run(tmp_path, **replace)
    splits = prepare(inputs, outputs, data=data)
    return inputs, outputs, splits, json.loads(outputs["dataset"].read_text())


def labelled_rows(n_per_label: dict) -> str:
    lines = ["id\ttext\tlabel"]
    for label, n in n_per_label.items():
        lines += [f"{label}{i}\tpost {i} about {label}\t{label}" for i in range(n)]
    return "\n".join(lines) + "\n"


def test_valid_is_split_from_train_stratified_seeded_disjoint(tmp_path):
    train = labelled_rows({"A": 60, "B": 30, "C": 10})
    inputs, outputs, _ = run(tmp_path, train=train)
    del inputs["valid"]
    splits = prepare(inputs, outputs, data={"valid_share": 0.2, "split_seed": 3})
    valid, rest = splits["valid"], splits["train"]
    assert valid["label"].value_counts().to_dict() == {"A": 12, "B": 6, "C": 2}
    assert set(valid["id"]).isdisjoint(rest["id"])
    assert sorted([*valid["id"], *rest["id"]]) == sorted(read_tsv(inputs["train"])["id"])
    assert json.loads(outputs["dataset"].read_text())["valid_from_train"] is True
    again = prepare(inputs, outputs, data={"valid_share": 0.2, "split_seed": 3})
    assert again["valid"]["id"].tolist() == valid["id"].tolist()
    other = prepare(inputs, outputs, data={"valid_share": 0.2, "split_seed": 4})
    assert other["valid"]["id"].tolist() != valid["id"].tolist()


def test_max_train_rows_takes_a_stratified_sample(tmp_path):
    train = labelled_rows({"A": 40, "B": 20})
    *_, splits, summary = prepared(
        tmp_path, {"max_train_rows": 15}, train=train, valid="id\ttext\tlabel\nv1\tx\tA\n"
    )
    assert splits["train"]["label"].value_counts().to_dict() == {"A": 10, "B": 5}
    assert summary["rows"]["train"] == 15


def test_multilabel_fields_become_sorted_sets(tmp_path):
    *_, splits, summary = prepared(
        tmp_path,
        train="id\ttext\tlabel\nt1\ta\tjoy, anger\nt2\tb\tfear\nt3\tc\tanger,joy,anger\n",
        valid="id\ttext\tlabel\nv1\td\tfear,joy\n",
    )
    assert summary["problem_type"] == "multi_label" and summary["labels"] == [
        "anger",
        "fear",
        "joy",
    ]
    assert splits["train"]["label"].tolist() == ["anger,joy", "fear", "anger,joy"]


def test_multilabel_unknown_label_names_the_row(tmp_path):
    with pytest.raises(DataError, match=r"valid.tsv: line 3: label 'awe' does not occur"):
        prepared(
            tmp_path,
            train="id\ttext\tlabel\nt1\ta\tjoy,fear\nt2\tb\tfear\n",
            valid="id\ttext\tlabel\nv1\td\tfear\nv2\te\tjoy,awe\n",
        )


LEAKY_TEST = "id\ttext\nx1\tnew site opens\nx2\tCases   RISE\n"


def test_leakage_is_reported_as_a_warning(tmp_path, caplog):
    *_, summary = prepared(tmp_path, test=LEAKY_TEST)
    leak = summary["leakage"]["train/test"]
    assert leak["rows"] == 1 and leak["examples"] == ["Cases   RISE"]
    assert "1 test rows have a text that also occurs in train" in caplog.text


def test_leakage_can_be_an_error(tmp_path):
    with pytest.raises(DataError, match=r"test.tsv: line 3: 1 test rows have a text .* train"):
        prepared(tmp_path, {"leakage": "error"}, test=LEAKY_TEST)
    assert not (tmp_path / "out").exists()


def test_tweet_preprocessing_is_applied_to_every_split(tmp_path):
    train = (
        "id\ttext\tlabel\nt1\t@bob see https://t.co/x1  now \U0001f602\tINFO\n"
        "t2\tso  bored &amp; tired\tCHAT\n"
    )
    *_, splits, _ = prepared(tmp_path, {"preprocess": "tweet"}, train=train)
    assert splits["train"]["text"].tolist() == [
        "@USER see HTTPURL now face with tears of joy",
        "so bored & tired",
    ]


def test_exact_repeats_are_dropped_but_a_reused_id_is_an_error(tmp_path, caplog):
    train = "id\ttext\tlabel\nt1\ta\tINFO\nt2\tb\tCHAT\nt1\ta\tINFO\nt3\tc\tINFO\n"
    *_, splits, summary = prepared(tmp_path, train=train)
    assert splits["train"]["id"].tolist() == ["t1", "t2", "t3"]
    assert "dropped 1 rows that repeat an earlier row exactly (lines 4)" in caplog.text
    with pytest.raises(DataError, match=r"train.tsv: line 4: duplicate id 't1'"):
        prepared(tmp_path, train=train.replace("t1\ta\tINFO\nt3", "t1\tz\tINFO\nt3"))
    with pytest.raises(DataError, match=r"test.tsv: line 3: duplicate id 'x1'"):
        prepared(tmp_path, test="id\ttext\nx1\tnew\nx1\tnew\n")
