"""The demo workflow through a real one-node Slurm cluster (CI stage 2: .ci/slurm_stage.sh
starts the cluster, then runs `pytest -m slurm`). Every job must run as a Slurm job that
completed, and the predictions must equal those of a local run of the same workflow. Both
train and fine-tune on 2 processes (DDP over Gloo; profiles/ci-slurm sets `processes: 2`)."""

import collections
import re
import shutil
import subprocess
import time

import pytest
import yaml
from workflow.helpers import copy_workflow, snakemake

pytestmark = pytest.mark.slurm
TARGET = "results/prediction.csv"


def job_counts(output: str) -> dict[str, int]:
    table = output.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)}


def test_demo_through_slurm_matches_a_local_run(tmp_path, tiny_bert):
    assert shutil.which("sbatch") and shutil.which("sacct"), "run .ci/slurm_up.sh first"
    (tmp_path / "local").mkdir()
    (tmp_path / "cluster").mkdir()
    local = copy_workflow(tmp_path / "local", tiny_bert)
    cluster = copy_workflow(tmp_path / "cluster", tiny_bert)
    for workdir in (local, cluster):  # the LLM's replies are shared, so both mine the same rows
        config = yaml.safe_load((workdir / "config.yaml").read_text())
        config["augment"]["max_rows"] = 6
        (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    two = ["--set-resources", "train:processes=2", "finetune:processes=2"]
    _, output = snakemake(local, "-j2", TARGET, *two)  # --set-resources takes every word after it
    expected = job_counts(output)
    journal = local / "results" / "demo" / "augment" / "journal.jsonl"
    (cluster / "results" / "demo" / "augment").mkdir(parents=True)
    shutil.copy(journal, cluster / "results" / "demo" / "augment" / "journal.jsonl")

    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    _, output = snakemake(cluster, "--profile", "profiles/ci-slurm", TARGET, timeout=2400)
    assert job_counts(output) == expected

    accounting = subprocess.run(
        ["sacct", "-n", "-P", "-X", "-S", started, "--format=JobID,Comment,State"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    ran = collections.Counter()
    for line in accounting.splitlines():
        job_id, comment, state = line.split("|")
        assert state == "COMPLETED", line
        ran[comment.split("_wildcards_")[0].removeprefix("rule_")] += 1
    # local rules run on the submitting host: the settings record and the tracking writer
    local_rules = {rule: expected.pop(rule) for rule in ("settings", "track")}
    assert dict(ran) == expected  # every other job of the local run, a completed Slurm job
    assert local_rules == {"settings": 1, "track": 1}
    local_prediction = (local / TARGET).read_text()
    assert (cluster / TARGET).read_text() == local_prediction
    assert len(local_prediction.splitlines()) == 121
    for stage in ("train", "finetune"):  # rank 0 logs to the rule's log, rank 1 beside it
        assert "rank 1 INFO" in (cluster / f"results/demo/logs/{stage}.log.rank1").read_text()
