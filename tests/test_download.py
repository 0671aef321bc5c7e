"""Downloading a public dataset: checksums and conversion, against a local HTTP server."""

import hashlib
from pathlib import Path

import pytest

from textclf.download import download_dataset
from textclf.tsv import DataError, read_tsv

# Invented rows in the originals' formats (GoEmotions TSV without header, Char-CNN CSV).
GOEMOTIONS = {
    "emotions.txt": "anger\njoy\nneutral",
    "train.tsv": (
        "so happy today\t1\tc1\nthis is awful\t0\tc2\nok then\t2\tc3\nyay but grr\t0,1\tc4\n"
    ),
    "dev.tsv": "meh\t2\tc5\nlove it\t1\tc6\n",
    "test.tsv": "what now\t2\tc7\n",
}
AG_NEWS = {
    "train.csv": (
        '"3","Stocks rise","Markets gained on Monday."\n"2","Cup final","A late goal, again."\n'
    ),
    "test.csv": '"4","New chip","Faster, smaller\\n cheaper."\n',
}


def sha256(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture()
def server(serve_files):
    return serve_files({**GOEMOTIONS, **AG_NEWS})


def goemotions_spec(url: str) -> dict:
    files = {"train": "train.tsv", "valid": "dev.tsv", "test": "test.tsv", "labels": "emotions.txt"}
    return {
        "format": "goemotions",
        "files": {
            role: {"url": f"{url}/{name}", "checksum": sha256(GOEMOTIONS[name])}
            for role, name in files.items()
        },
    }


def outputs(folder: Path, splits) -> dict:
    return {split: folder / f"{split}.tsv" for split in splits}


def test_goemotions_files_become_the_workflow_layout(server, tmp_path):
    out = outputs(tmp_path / "goemotions", ["train", "valid", "test"])
    download_dataset(goemotions_spec(server), out)
    train = read_tsv(out["train"])
    assert train.columns.tolist() == ["id", "text", "labels"]
    assert train["labels"].tolist() == ["joy", "anger", "neutral", "anger,joy"]
    assert train["id"].tolist() == ["c1", "c2", "c3", "c4"]
    assert read_tsv(out["valid"])["text"].tolist() == ["meh", "love it"]


def test_ag_news_csv_joins_title_and_description(server, tmp_path):
    spec = {
        "format": "ag_news_csv",
        "files": {
            split: {"url": f"{server}/{split}.csv", "checksum": sha256(AG_NEWS[f"{split}.csv"])}
            for split in ("train", "test")
        },
    }
    out = outputs(tmp_path / "ag", ["train", "test"])
    download_dataset(spec, out)
    train = read_tsv(out["train"])
    assert train.to_dict("list") == {
        "id": ["train-000001", "train-000002"],
        "text": ["Stocks rise Markets gained on Monday.", "Cup final A late goal, again."],
        "label": ["Business", "Sports"],
    }
    assert read_tsv(out["test"])["label"].tolist() == ["Sci/Tech"]


def test_a_wrong_checksum_names_the_url_and_writes_nothing(server, tmp_path):
    spec = goemotions_spec(server)
    spec["files"]["test"]["checksum"] = "sha256:" + "0" * 64
    out = outputs(tmp_path / "goemotions", ["train", "valid", "test"])
    with pytest.raises(
        DataError, match=rf"{server}/test.tsv: sha256 is [0-9a-f]{{64}}, the config"
    ):
        download_dataset(spec, out)
    assert not (tmp_path / "goemotions").exists()


def test_a_malformed_checksum_is_reported(server, tmp_path):
    spec = goemotions_spec(server)
    spec["files"]["train"]["checksum"] = "md9:abc"
    with pytest.raises(DataError, match=r"train.tsv: checksum 'md9:abc' is not"):
        download_dataset(spec, outputs(tmp_path, ["train", "valid", "test"]))
