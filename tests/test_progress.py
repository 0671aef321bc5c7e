"""Progress on the steps that take minutes: a log line per tenth of the work with the rate and
the time left - inference (evaluate, predict, mine, speed: every predictor), the similarity
filter's embedding, augment (journal answers counted apart and not in the rate), download -
and nothing from work of fewer than ten batches."""

import hashlib
import logging
import re

import pandas as pd
import pytest
from conftest import demo_rows
from fault_server import FaultServer

from textclf.augment import LLMSettings, augment_rows, llm_client
from textclf.download import fetch
from textclf.inference import run_evaluate
from textclf.llm_requests import Journal
from textclf.modeling import load_classifier
from textclf.similarity import SentenceEncoder
from textclf.training import TrainSettings, save_checkpoint, train
from textclf.tsv import write_tsv

LINE = r"{what}: (\d+)/{total} {unit}(?: \(([^)]*)\))?, [\d.]+ {unit}/s, about \S+(?: min| s)? left"


def progress(caplog, what, total, unit) -> list[tuple[int, str]]:
    pattern = LINE.format(what=what, total=total, unit=unit)
    found = [re.fullmatch(pattern, r.getMessage()) for r in caplog.records]
    return [(int(m[1]), m[2] or "") for m in found if m]


@pytest.fixture(scope="module")
def checkpoint(tiny_bert, tmp_path_factory):
    model, tokenizer = load_classifier(str(tiny_bert), ["INFORMATIVE", "UNINFORMATIVE"])
    settings = TrainSettings(epochs=1, batch_size=16, unfreeze="none", learning_rate=1e-3)
    model, history = train(model, tokenizer, demo_rows("train"), demo_rows("valid"), settings)
    folder = tmp_path_factory.mktemp("ckpt") / "stage1"
    save_checkpoint(model, tokenizer, history, settings, folder, "stage1")
    return folder


def test_evaluate_logs_each_tenth_of_ten_batches_not_fewer(checkpoint, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    valid = demo_rows("valid")
    big = pd.concat([valid.assign(id=valid["id"] + f"_{i}") for i in range(6)])  # 720 rows
    write_tsv(big, tmp_path / "big.tsv")
    run_evaluate(checkpoint, {"valid": tmp_path / "big.tsv"}, tmp_path / "big.json")
    done = [count for count, _ in progress(caplog, "inference", len(big), "texts")]
    assert len(done) == 10 and done == sorted(done) and done[-1] == len(big)
    write_tsv(valid, tmp_path / "small.tsv")  # 120 rows: two batches, no line
    caplog.clear()
    run_evaluate(checkpoint, {"valid": tmp_path / "small.tsv"}, tmp_path / "small.json")
    assert not [r for r in caplog.records if r.getMessage().startswith("inference:")]


def test_the_similarity_filter_logs_its_embedding(caplog):
    caplog.set_level(logging.INFO)
    texts = demo_rows("valid")["text"].head(80).tolist()
    SentenceEncoder(batch_size=8).embed(texts)  # ten batches
    done = [count for count, _ in progress(caplog, "similarity", 80, "texts")]
    assert done[-1] == 80 and len(done) == 10


def test_augment_counts_the_journals_answers_apart(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    rows = demo_rows("train").head(10)
    server = FaultServer()
    llm = LLMSettings(base_url=server.url, model="fake", api_key_env="NO_KEY", workers=2)
    try:
        with llm_client(llm) as client:
            journal = Journal(tmp_path / "journal.jsonl")
            augment_rows(rows, client, llm, 1, journal=journal)  # 10 requests sent
            caplog.clear()
            augment_rows(rows, client, llm, 2, journal=journal)  # 10 answered, 10 sent
            journal.close()
    finally:
        server.close()
    lines = progress(caplog, "augment", 20, "requests")
    assert lines[-1] == (20, "10 from the journal, 10 sent, 0 failed")
    assert len(lines) >= 10 and [n for n, _ in lines] == sorted(n for n, _ in lines)


def test_a_download_logs_its_kilobytes(serve_files, caplog):
    caplog.set_level(logging.INFO)
    content = "".join(f"row {i}\tsome text\n" for i in range(300_000))  # about 5.5 MB
    url = serve_files({"big.tsv": content})
    data = fetch(f"{url}/big.tsv", "sha256:" + hashlib.sha256(content.encode()).hexdigest())
    assert data == content.encode()
    total = -(-len(data) // 1024)
    done = [count for count, _ in progress(caplog, "download", total, "kB")]
    assert done[-1] == total and len(done) >= 5
