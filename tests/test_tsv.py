import pandas as pd
import pytest

from textclf.tsv import DataError, atomic_path, read_tsv, write_tsv


def test_text_starting_with_a_quote_stays_one_row(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text('id\ttext\tlabel\n1\t"quoted start\ta\n2\tplain "x\tb\n3\t"\tc\n')
    table = read_tsv(path)
    assert table["text"].tolist() == ['"quoted start', 'plain "x', '"']
    assert table["label"].tolist() == ["a", "b", "c"]


def test_na_like_strings_stay_strings(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("id\ttext\tlabel\n1\tNA\tnull\n")
    assert read_tsv(path).iloc[0].tolist() == ["1", "NA", "null"]


def test_write_round_trips_and_refuses_tabs(tmp_path):
    frame = pd.DataFrame({"id": ["1"], "text": ['"a" b']})
    write_tsv(frame, tmp_path / "out.tsv")
    assert read_tsv(tmp_path / "out.tsv").equals(frame)
    with pytest.raises(DataError, match="column 'text' of row 2 holds a tab"):
        write_tsv(pd.DataFrame({"text": ["ok", "a\tb"]}), tmp_path / "bad.tsv")
    assert not (tmp_path / "bad.tsv").exists()


def test_atomic_path_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "result.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.txt"]


def test_atomic_path_replaces_a_directory(tmp_path):
    target = tmp_path / "checkpoint"
    target.mkdir()
    (target / "stale").write_text("x")
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "fresh").write_text("y")
    assert [p.name for p in target.iterdir()] == ["fresh"]
