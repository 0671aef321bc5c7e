"""Augmentation against a fault-injecting OpenAI-compatible server on 127.0.0.1."""

import json
import os
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import REPO
from fault_server import FaultServer

from textclf.augment import LLMSettings, augment_rows, llm_client, run_augment
from textclf.llm_requests import FatalLLMError, Journal, RateLimiter
from textclf.tsv import read_tsv, write_tsv

TEXTS = ["cases rise in Riverside", "so bored at home", "clinic opens at nine", "curfew extended"]
ROWS = pd.DataFrame({"id": ["a", "b", "c", "d"], "text": TEXTS, "label": ["I", "U", "I", "I"]})
KEY = "sk-test-0123456789abcdefcret"


@pytest.fixture()
def server_factory():
    servers = []

    def make(faults=None):
        servers.append(FaultServer(faults))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def settings(server, **extra):
    values = dict(
        base_url=server.url,
        model="fake",
        api_key_env="FAULT_TEST_KEY",
        timeout_s=0.5,
        max_retries=4,
        backoff_s=0.01,
        workers=2,
    )
    return LLMSettings(**{**values, **extra})


def augment(server, journal=None, variants=2, share=1.0, **extra):
    llm = settings(server, **extra)
    with llm_client(llm) as client:
        return augment_rows(ROWS, client, llm, variants, journal=journal, max_failed_share=share)


def test_transient_faults_give_the_same_rows_as_a_clean_run(server_factory):
    clean, _ = augment(server_factory())
    faults = {TEXTS[0]: ["429", "503"], TEXTS[1]: ["hang", "500"], TEXTS[2]: ["drop", "502"]}
    faulty_server = server_factory(faults)
    faulty, counts = augment(faulty_server)
    pd.testing.assert_frame_equal(clean, faulty)
    assert len(clean) == 8
    assert counts["sent"] == 8 and counts["rows_without_reply"] == 0
    assert {a for _, _, a in faulty_server.log} >= {"429", "503", "hang", "500", "drop"}


def test_bad_replies_are_dropped_and_counted(server_factory):
    server = server_factory({TEXTS[0]: ["nochoices"], TEXTS[1]: ["empty"], TEXTS[2]: ["echo"]})
    augmented, counts = augment(server, variants=1)
    assert augmented["source_id"].tolist() == ["d"]
    assert counts["dropped_empty"] == 2 and counts["dropped_identical"] == 1


def test_401_stops_at_once_and_the_key_is_nowhere(server_factory, tmp_path, monkeypatch):
    monkeypatch.setenv("FAULT_TEST_KEY", KEY)
    server = server_factory({text: ["401"] * 10 for text in TEXTS})
    train = tmp_path / "train.tsv"
    write_tsv(ROWS, train)
    llm = {**settings(server).__dict__}
    from textclf.logs import setup_logging

    setup_logging(tmp_path / "augment.log")
    with pytest.raises(FatalLLMError) as error:
        run_augment(
            train,
            llm,
            {"variants": 2, "max_length_ratio": 3.0, "max_failed_share": 0.1},
            tmp_path / "out" / "augmented.tsv",
            tmp_path / "out" / "stats.json",
        )
    message = str(error.value)
    assert f"LLM endpoint {server.url} (model fake): HTTP 401" in message
    assert len(server.log) <= 2, "a 401 must not be retried"
    assert not (tmp_path / "out" / "augmented.tsv").exists()
    import logging

    logging.getLogger("textclf").error("%s", message)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            content = path.read_text(errors="replace")
            assert KEY not in content and KEY[-8:] not in content, path
    assert KEY not in message and "cret" not in message


def test_failure_budget(server_factory):
    always_down = {TEXTS[3]: ["503"] * 100}
    augmented, counts = augment(server_factory(always_down), share=0.25, max_retries=1)
    assert counts["rows_without_reply"] == 1 and counts["failed_HTTP 503"] == 2
    assert set(augmented["source_id"]) == {"a", "b", "c"}
    with pytest.raises(RuntimeError, match=r"1 of 4 rows got no reply .*HTTP 503"):
        augment(server_factory(always_down), share=0.1, max_retries=1)


def test_a_killed_run_resumes_without_paying_twice(server_factory, tmp_path):
    # The 4th request blocks until the kill, so exactly 3 replies were journalled before it.
    server = server_factory({TEXTS[1]: ["ok", "block"]})
    train, out = tmp_path / "train.tsv", tmp_path / "out" / "augmented.tsv"
    write_tsv(ROWS, train)
    llm = json.dumps({**settings(server, workers=1).__dict__})
    script = (
        "import json, sys; from textclf.augment import run_augment; "
        f"run_augment({str(train)!r}, json.loads(sys.argv[1]), "
        "{'variants': 2, 'max_length_ratio': 3.0, 'max_failed_share': 0.1}, "
        f"{str(out)!r}, {str(out.parent / 'stats.json')!r})"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "scripts")}
    child = subprocess.Popen([sys.executable, "-c", script, llm], env=env)
    deadline = time.monotonic() + 60
    while not any(a == "block" for _, _, a in server.log):
        assert time.monotonic() < deadline and child.poll() is None
        time.sleep(0.05)
    child.kill()
    child.wait()
    assert not out.exists()
    journal = Journal(out.parent / "journal.jsonl")
    assert len(journal.replies) == 3
    journal.close()
    subprocess.run([sys.executable, "-c", script, llm], env=env, check=True, timeout=120)
    answered = server.successes()
    assert len(answered) == 8 and len(set(answered)) == 8  # one success per request, overall
    assert len(read_tsv(out)) == 8
    assert json.loads((out.parent / "stats.json").read_text())["from_journal"] == 3


def test_journal_reuses_only_replies_of_the_same_request(server_factory, tmp_path):
    server = server_factory()
    journal = Journal(tmp_path / "journal.jsonl")
    first, _ = augment(server, journal=journal)
    again, counts = augment(server, journal=journal)
    assert counts["from_journal"] == 8 and counts["sent"] == 0
    pd.testing.assert_frame_equal(first, again)
    _, counts = augment(server, journal=journal, model="another-model")
    assert counts["from_journal"] == 0 and counts["sent"] == 8
    journal.close()
    assert len(Journal(tmp_path / "journal.jsonl").replies) == 16


def test_rate_limiter_spaces_request_starts():
    limiter = RateLimiter(requests_per_minute=600)  # one start per 0.1 s
    started = time.monotonic()
    for _ in range(4):
        limiter.wait()
    assert time.monotonic() - started >= 0.3


def test_journal_survives_a_line_cut_short(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_text('{"key": "a", "reply": "one"}\n{"key": "b", "rep')
    journal = Journal(path)
    assert journal.replies == {"a": "one"}
    journal.record("c", "row", 1, "three")
    journal.close()
    assert Journal(path).replies == {"a": "one", "c": "three"}
