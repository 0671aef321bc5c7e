"""The embedded SmolLM2 server, for real: two server processes answer requests side by side,
an augment killed mid-run resumes from its journal without asking any answered request again,
and mining's label judge asks it once per candidate rewrite."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from conftest import DEMO, REPO

from textclf.augment import LLMSettings, Request, ask_all, llm_client, messages_for
from textclf.config import from_section
from textclf.finetuning import run_stage1
from textclf.labels import LabelSpace
from textclf.mining import PLAIN, run_mine
from textclf.tsv import read_tsv, write_tsv

LLM = {"base_url": "local", "local_servers": 2, "workers": 4, "max_tokens": 24, "seed": 7}


def server_children() -> dict[int, float]:
    """pid -> CPU seconds of this process's llama_cpp.server children."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and b"llama_cpp.server" in command:
            found[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf(
                "SC_CLK_TCK"
            )
    return found


def test_two_embedded_servers_answer_requests_side_by_side():
    settings = from_section(LLMSettings, LLM, "llm")
    texts = read_tsv(DEMO / "train.tsv")["text"][:8]
    requests = [Request(f"r{i}", 1, messages_for(text), 7 + i) for i, text in enumerate(texts)]
    with llm_client(settings, threads=2) as client:
        assert len({c.base_url for c in client.clients}) == 2
        before = server_children()
        assert len(before) == 2
        replies, counts = ask_all(requests, client, settings)
        after = server_children()
    assert counts["sent"] == 8 and all(reply and reply.strip() for reply in replies)
    # both processes generated: each spent CPU time on the requests, not only on loading
    assert all(after[pid] - before[pid] > 0.2 for pid in before), (before, after)
    assert not server_children()  # both stopped with the client


def journal_keys(path: Path) -> list[str]:
    keys = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            keys.append(json.loads(line)["key"])
        except json.JSONDecodeError:  # a line the kill cut short
            continue
    return keys


def test_a_killed_augment_resumes_from_its_journal_without_asking_twice(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "default_experiment": "local",
                "experiments": {
                    "local": {
                        "dataset": str(DEMO),
                        "llm": LLM,
                        "augment": {"max_rows": 10, "variants": 2},
                    }
                },
            }
        )
    )
    out, stats = tmp_path / "augment" / "augmented.tsv", tmp_path / "augment" / "stats.json"
    journal = out.parent / "journal.jsonl"
    command = [
        sys.executable,
        "-m",
        "textclf",
        "augment",
        "--config",
        str(config),
        "--threads",
        "2",
        "--train",
        str(DEMO / "train.tsv"),
        "--out",
        str(out),
        "--stats",
        str(stats),
        "--server-log",
        str(tmp_path / "server.log"),
    ]
    job = subprocess.Popen(command, cwd=REPO, start_new_session=True)
    deadline = time.monotonic() + 300
    while not journal.exists() or len(journal_keys(journal)) < 4:
        assert time.monotonic() < deadline and job.poll() is None
        time.sleep(0.05)
    os.killpg(job.pid, signal.SIGKILL)  # the augment and both of its servers
    job.wait()
    assert not out.exists() and not stats.exists()
    answered = set(journal_keys(journal))
    assert 4 <= len(answered) < 20

    subprocess.run(command, cwd=REPO, check=True)
    keys = journal_keys(journal)
    assert len(keys) == len(set(keys)) == 20  # every request answered once, none asked twice
    counts = json.loads(stats.read_text())
    assert counts["from_journal"] == len(answered) and counts["sent"] == 20 - len(answered)


def test_mining_asks_the_real_judge_once_per_candidate(tiny_bert, tmp_path):
    (tmp_path / "dataset.json").write_text(
        json.dumps(LabelSpace(("INFORMATIVE", "UNINFORMATIVE")).to_json())
    )
    training = {"epochs": 1, "unfreeze": "none", "learning_rate": 1e-3, "mixed_precision": "none"}
    stage1 = tmp_path / "stage1"
    run_stage1(
        str(tiny_bert), DEMO / "train.tsv", DEMO / "valid.tsv", tmp_path / "dataset.json",
        training, stage1,
    )  # fmt: skip
    sources = read_tsv(DEMO / "train.tsv").head(6)
    rewrites = sources.assign(source_id=sources["id"], id=sources["id"] + "-aug1")
    rewrites["text"] = "Reportedly, " + rewrites["text"]
    write_tsv(rewrites[["id", "source_id", "text", "label"]], tmp_path / "augmented.tsv")
    mine = {**PLAIN, "judge": True, "max_margin": 1.0}  # every rewrite a candidate

    def mined():
        run_mine(
            stage1, tmp_path / "augmented.tsv", DEMO / "train.tsv", tmp_path / "hard.tsv",
            tmp_path / "stats.json", mine, LLM, threads=2,
        )  # fmt: skip
        return read_tsv(tmp_path / "hard.tsv"), json.loads((tmp_path / "stats.json").read_text())

    hard, stats = mined()
    judged = {k: v for k, v in stats.items() if k.startswith("dropped_judge")}
    assert stats["kept_errors"] + stats["kept_near_misses"] + sum(judged.values()) == 6, stats
    assert set(hard["judge_label"]) <= {"INFORMATIVE", "UNINFORMATIVE"}
    assert (hard["judge_label"] == hard["label"]).all()  # without relabel, only agreement stays
    journal = tmp_path / "judge_journal.jsonl"
    assert len(journal_keys(journal)) == 6
    again, _ = mined()  # the journal answers every question: nothing is asked twice
    assert len(journal_keys(journal)) == 6
    assert again.equals(hard)
