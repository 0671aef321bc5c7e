"""`python -m textclf predict` on texts, as pipeline() users expect, with no configuration:
texts from --text, standard input or a file, CSV or JSON lines with label and score, top-k,
multi-label sets, ONNX int8 folders; model folders that record how their texts are prepared;
bad input ends in one line and writes nothing."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import DEMO, EMOTIONS, demo_rows

from textclf import registry
from textclf.compression import run_compress_onnx
from textclf.finetuning import run_stage1
from textclf.labels import MULTI, LabelSpace
from textclf.predictor import Preprocessed
from textclf.preprocess import normalise_tweet
from textclf.tsv import read_tsv, write_tsv

TRAINING = {"epochs": 2, "unfreeze": "none", "learning_rate": 3e-3, "mixed_precision": "none"}
RAW = "@someone 12 new cases in Riverside today https://t.co/x \U0001f637 &amp; more"


@pytest.fixture(scope="module")
def models(tiny_bert, tmp_path_factory):
    """A single-label tweet model (max_length 48), its ONNX int8 copy, a multi-label model."""
    folder = tmp_path_factory.mktemp("predict_texts")
    space = LabelSpace(("INFORMATIVE", "UNINFORMATIVE"))
    (folder / "dataset.json").write_text(json.dumps({**space.to_json(), "preprocess": "tweet"}))
    run_stage1(
        str(tiny_bert), DEMO / "train.tsv", DEMO / "valid.tsv", folder / "dataset.json",
        {**TRAINING, "max_length": 48}, folder / "tweets",
    )  # fmt: skip
    run_compress_onnx(
        "onnx-int8", folder / "tweets", demo_rows("valid"), TRAINING, folder / "int8", 1, 48
    )
    emotions = read_tsv(EMOTIONS / "train.tsv").rename(columns={"labels": "label"}).head(300)
    write_tsv(emotions, folder / "emotions.tsv")
    labels = sorted({label for field in emotions["label"] for label in field.split(",")})
    (folder / "emotions.json").write_text(json.dumps(LabelSpace(tuple(labels), MULTI).to_json()))
    run_stage1(
        str(tiny_bert), folder / "emotions.tsv", folder / "emotions.tsv",
        folder / "emotions.json", TRAINING, folder / "multi",
    )  # fmt: skip
    return folder


def predict(*args, cwd, stdin=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "textclf", "predict", *map(str, args)],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
    )


def test_a_model_folder_records_how_its_texts_are_prepared(models):
    manifest = registry.read_manifest(models / "tweets")
    assert manifest["preprocess"] == "tweet" and manifest["max_length"] == 48
    tokenizer = json.loads((models / "tweets" / "tokenizer_config.json").read_text())
    assert tokenizer["model_max_length"] == 48
    assert registry.read_manifest(models / "int8")["preprocess"] == "tweet"  # inherited
    predictor = registry.load_predictor(models / "tweets")
    assert isinstance(predictor, Preprocessed) and predictor.max_length == 48
    np.testing.assert_allclose(  # raw text is normalised as the training data were
        predictor.probabilities([RAW]), predictor.inner.probabilities([normalise_tweet(RAW)])
    )
    assert normalise_tweet(normalise_tweet(RAW)) == normalise_tweet(RAW)  # prepared data: same


def test_texts_from_the_command_line_with_top_k_as_json_lines(models, tmp_path):
    result = predict(
        "--model", models / "tweets", "--text", RAW, "--text", "miss the cinema so much",
        "--top-k", "2", "--format", "jsonl", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 2
    for record in records:
        assert sorted(record["label"]) == ["INFORMATIVE", "UNINFORMATIVE"]
        assert record["score"] == sorted(record["score"], reverse=True)
        assert all(0 <= s <= 1 for s in record["score"]) and sum(record["score"]) == pytest.approx(
            1
        )
    expected = registry.load_predictor(models / "tweets").predict([RAW])["predicted"][0]
    assert records[0]["label"][0] == expected


def test_standard_input_and_files_keep_their_ids(models, tmp_path):
    texts = demo_rows("valid").head(5)
    piped = predict("--model", models / "int8", cwd=tmp_path, stdin="\n".join(texts["text"]))
    assert piped.returncode == 0, piped.stderr
    table = pd.read_csv(pd.io.common.StringIO(piped.stdout))
    assert list(table.columns) == ["label", "score"] and len(table) == 5
    expected = registry.load_predictor(models / "int8").predict(texts["text"])["predicted"]
    assert table["label"].tolist() == expected.tolist()
    texts[["id", "text"]].to_json(tmp_path / "in.jsonl", orient="records", lines=True)
    out = tmp_path / "labelled.csv"
    done = predict(
        "--model", models / "int8", "--input", tmp_path / "in.jsonl", "--out", out,
        "--batch-size", "2", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    written = pd.read_csv(out, dtype=str)
    assert written["id"].tolist() == texts["id"].tolist()
    assert "predict: 5/5 texts" in done.stderr  # progress


def test_a_multi_label_model_gives_every_label_over_its_threshold(models, tmp_path):
    result = predict(
        "--model", models / "multi", "--text", "what a lovely surprise, thank you",
        "--format", "jsonl", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    predictor = registry.load_predictor(models / "multi")
    field = predictor.predict(["what a lovely surprise, thank you"])["predicted"][0]
    assert sorted(record["label"]) == predictor.space.split(field)  # the thresholded set
    assert record["score"] == sorted(record["score"], reverse=True)
    refused = predict("--model", models / "multi", "--text", "x", "--top-k", "2", cwd=tmp_path)
    assert refused.returncode != 0 and "multi-label" in refused.stderr


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda f, m: ["--model", f / "nowhere", "--text", "x"], "no such model folder"),
        (lambda f, m: ["--model", f, "--text", "x"], "no manifest.json"),
        (lambda f, m: ["--model", m, "--input", f / "none.tsv"], "no such input file"),
        (lambda f, m: ["--model", m, "--input", f / "bad.tsv"], "no text column"),
    ],
)
def test_bad_input_ends_in_one_line_and_writes_nothing(models, tmp_path, make, expected):
    pd.DataFrame({"sentence": ["a"]}).to_csv(tmp_path / "bad.tsv", sep="\t", index=False)
    out = tmp_path / "out.csv"
    result = predict(*make(tmp_path, models / "tweets"), "--out", out, cwd=tmp_path)
    assert result.returncode != 0 and expected in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_prediction_csv_adds_the_score_only_when_asked(models, tmp_path):
    from textclf.stages import predict as predict_stage

    paths = {"model": models / "tweets", "test": DEMO / "test.tsv"}
    for scores in (False, True):
        out = tmp_path / f"scores_{scores}.csv"
        predict_stage({"max_length": 48, "scores": scores}, {**paths, "prediction": out})
    plain = pd.read_csv(tmp_path / "scores_False.csv")
    scored = pd.read_csv(tmp_path / "scores_True.csv")
    assert plain.columns.tolist() == ["id", "label"]
    assert scored.columns.tolist() == ["id", "label", "score"]
    pd.testing.assert_frame_equal(plain, scored[["id", "label"]])
    texts = read_tsv(DEMO / "test.tsv")["text"]
    probabilities = registry.load_predictor(models / "tweets").probabilities(texts)
    np.testing.assert_allclose(scored["score"], probabilities.max(-1), atol=1e-6)
    # multi-label: the highest probability among the predicted labels, never one left out
    test = read_tsv(EMOTIONS / "test.tsv").rename(columns={"labels": "label"})
    write_tsv(test, tmp_path / "emotions_test.tsv")
    out = tmp_path / "multi.csv"
    paths = {"model": models / "multi", "test": tmp_path / "emotions_test.tsv"}
    predict_stage({"max_length": 128, "scores": True}, {**paths, "prediction": out})
    multi = pd.read_csv(out, dtype={"label": str})
    predictor = registry.load_predictor(models / "multi")
    probabilities = predictor.probabilities(test["text"])
    index = {label: i for i, label in enumerate(predictor.space.labels)}
    for row, labels, score in zip(probabilities, multi["label"], multi["score"], strict=True):
        highest = max(row[index[label]] for label in labels.split(","))
        assert score == pytest.approx(highest, abs=1e-6)
