"""LLM endpoint faults through Snakemake: a 401 leaks no key, a killed run resumes."""

import os
import signal
import time

import pytest
import yaml

from workflow.helpers import snakemake, start_snakemake

pytestmark = pytest.mark.workflow


def fault_experiment(workflow, name, server, **llm):
    """An experiment of the demo data whose augmentation talks to the fault server."""
    change = {
        "experiments": {
            name: {
                "dataset": "data/example",
                "llm": {
                    "base_url": server.url,
                    "model": "fake",
                    "api_key_env": "FAULT_TEST_KEY",
                    "max_retries": 2,
                    "backoff_s": 0.01,
                    "timeout_s": 2,
                    **llm,
                },
                "augment": {"max_rows": 4, "variants": 2},
            }
        }
    }
    (workflow / f"{name}.yaml").write_text(yaml.safe_dump(change))
    return ["--configfile", "config.yaml", f"{name}.yaml"]


def test_a_401_through_snakemake_leaves_the_key_nowhere(workflow, monkeypatch):
    from fault_server import FaultServer

    key = "sk-test-0123456789abcdefcret"
    monkeypatch.setenv("FAULT_TEST_KEY", key)
    server = FaultServer({})
    server.faults.default_factory = lambda: ["401"] * 10
    try:
        args = fault_experiment(workflow, "keytest", server)
        code, output = snakemake(
            workflow, "-j1", "results/keytest/augment/augmented.tsv", *args, check=False
        )
    finally:
        server.close()
    assert code != 0
    assert f"LLM endpoint {server.url} (model fake): HTTP 401" in output
    assert len(server.log) == 1  # the first request goes alone, and a 401 is not retried
    assert key not in output
    for path in workflow.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            assert key.encode() not in data and key[-8:].encode() not in data, path


def test_a_killed_snakemake_run_resumes_without_paying_twice(workflow):
    from fault_server import FaultServer

    server = FaultServer({}, block_at=4)  # the 4th request hangs until the kill
    try:
        args = fault_experiment(workflow, "resume", server, workers=1)
        target = "results/resume/augment/augmented.tsv"
        job = start_snakemake(workflow, "-j1", target, *args)
        deadline = time.monotonic() + 300
        while not any(a == "block" for _, _, a in server.log):
            assert time.monotonic() < deadline and job.poll() is None
            time.sleep(0.1)
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()
        assert not (workflow / target).exists()
        snakemake(workflow, "--unlock", *args)
        snakemake(workflow, "-j1", "--rerun-incomplete", target, *args)
    finally:
        server.close()
    answered = server.successes()
    assert len(answered) == 8 and len(set(answered)) == 8
    stats = yaml.safe_load((workflow / "results" / "resume" / "augment" / "stats.json").read_text())
    assert stats["from_journal"] == 3 and stats["sent"] == 5
