"""Hyperparameter search: trials on an inner split with the median pruner, parallel worker jobs
on one study (journal file, PostgreSQL), a killed worker resumed, best settings into stage 1."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import pytest
import yaml
from conftest import EMOTIONS, demo_rows, free_port
from workflow.helpers import (
    CHROMIUM_ARGS,
    caption_text,
    copy_workflow,
    snakemake,
    start_snakemake,
)

from textclf import search as searching
from textclf import training
from textclf.config import check
from textclf.labels import LabelSpace
from textclf.tsv import read_tsv

SPACE = {"learning_rate": {"low": 1e-4, "high": 3e-3, "log": True}, "batch_size": [8, 16]}


def search_settings(**extra) -> dict:
    config = {
        "default_experiment": "e",
        "experiments": {"e": {"dataset": str(EMOTIONS), "search": {"space": SPACE, **extra}}},
    }
    return check(config)["e"]["search"]


def test_the_inner_split_is_stratified_seeded_and_leaves_valid_alone():
    rows = demo_rows("train")
    search = search_settings(inner_valid_share=0.25, max_train_rows=100)
    inner_train, inner_valid = searching.inner_split(rows, search, "train.tsv")
    again = searching.inner_split(rows, search, "train.tsv")
    assert inner_train.equals(again[0]) and inner_valid.equals(again[1])
    assert len(inner_valid) == 90 and len(inner_train) == 100
    assert set(inner_train["id"]).isdisjoint(inner_valid["id"])
    assert set(inner_valid["id"]) <= set(rows["id"])
    share = (inner_valid["label"] == "INFORMATIVE").mean()
    assert abs(share - (rows["label"] == "INFORMATIVE").mean()) < 0.02


def test_a_draw_stays_in_the_space_and_the_budget_caps_epochs():
    search = search_settings(epochs=2)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    params = searching.suggest(trial, {**SPACE, "epochs": {"low": 3, "high": 5}})
    assert 1e-4 <= params["learning_rate"] <= 3e-3 and params["batch_size"] in (8, 16)
    assert searching.trial_settings({"epochs": 9}, params, search).epochs == 2


def test_the_pruner_stops_a_trial_worse_than_the_median(monkeypatch, tiny_bert):
    scores = iter([[0.8, 0.85, 0.9], [0.7, 0.8, 0.85], [0.3, 0.3, 0.3], [0.85, 0.86, 0.2]])
    current = []

    def scripted(model, *args):
        score = current[len(current) - 1].pop(0)
        return 1.0 - score, {"accuracy": score, "f1_macro": score}

    monkeypatch.setattr(training, "_evaluate", scripted)
    search = search_settings(trials=3, prune_warmup_epochs=1)
    sampler, pruner = searching.sampler_and_pruner(search)
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    rows = (demo_rows("train").head(16), demo_rows("valid").head(8))
    space = LabelSpace(("INFORMATIVE", "UNINFORMATIVE"))
    training_settings = {"epochs": 3, "patience": 3, "unfreeze": "none"}

    def objective(trial):
        current.append(next(scores))
        return searching.run_trial(
            trial, 0, rows, space, search, training_settings, str(tiny_bert), 1
        )

    study.optimize(objective, n_trials=4)
    states = [t.state.name for t in study.trials]
    # trial 3 falls below the median only at its last epoch: it has run, so it completes
    assert states == ["COMPLETE", "COMPLETE", "PRUNED", "COMPLETE"]
    assert [t.value for t in study.trials[:2]] == [0.9, 0.85]  # the best epoch, not the last
    assert study.trials[2].user_attrs["epochs_run"] == 2  # epoch 1 is the warm-up
    assert study.trials[3].value == 0.86


def test_the_storage_url_is_named_without_its_password():
    assert searching.redact("postgresql://ann:s3cret@db:5432/optuna") == (
        "postgresql://ann:***@db:5432/optuna"
    )
    port = free_port()
    # the configuration refuses a password in the URL; the library still never repeats one
    search = {**search_settings(), "storage": f"postgresql://ann:s3cret@127.0.0.1:{port}/optuna"}
    with pytest.raises(searching.SearchStorageError) as caught:
        searching.open_storage(search, "unused")
    message = str(caught.value)
    assert message.startswith(f"search.storage postgresql://ann:***@127.0.0.1:{port}/optuna: ")
    assert "s3cret" not in message and "\n" not in message


def search_workflow(workdir: Path, tiny_bert, **search) -> Path:
    """The demo workflow, stage 1 only, searching 4 trials with 2 workers on a small budget."""
    copy_workflow(workdir, tiny_bert)
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["experiments"] = {"demo": config["experiments"]["demo"]}
    config["experiments"]["demo"] |= {
        "hard_examples": False,
        "baselines": {"models": []},
        "search": {
            "enabled": True,
            "trials": 4,
            "workers": 2,
            "epochs": 2,
            "max_train_rows": 120,
            "space": SPACE,
            **search,
        },
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    return workdir


TARGET = ["results/demo/checkpoints/stage1", "results/demo/search/trials.tsv"]


def check_finished_search(workdir: Path, trials: int = 4):
    out = workdir / "results" / "demo"
    table = read_tsv(out / "search" / "trials.tsv")
    finished = table[table["state"].isin(["complete", "pruned"])]
    assert len(finished) == trials
    assert len(set(zip(finished["learning_rate"], finished["batch_size"], strict=True))) == trials
    best = yaml.safe_load((out / "search" / "best.yaml").read_text())
    used = json.loads((out / "checkpoints" / "stage1" / "training_settings.json").read_text())
    assert used["learning_rate"] == best["settings"]["learning_rate"]
    assert used["batch_size"] == best["settings"]["batch_size"]
    for plot in ("optimization_history.png", "param_importances.png"):
        assert (out / "search" / plot).read_bytes()[:4] == b"\x89PNG"
    return table


@pytest.mark.workflow
def test_two_workers_share_one_study_and_stage1_takes_the_best(tmp_path, tiny_bert):
    workdir = search_workflow(tmp_path, tiny_bert)
    snakemake(workdir, "-j4", *TARGET)
    table = check_finished_search(workdir)
    workers = [
        json.loads((workdir / f"results/demo/search/workers/{i}.json").read_text()) for i in (0, 1)
    ]
    assert all(w["trials"] for w in workers), workers  # both ran trials, at the same time
    assert (
        sorted(workers[0]["trials"] + workers[1]["trials"]) == table["trial"].astype(int).tolist()
    )
    for i, worker in enumerate(workers):  # one log line per trial the worker finished
        log = (workdir / f"results/demo/logs/search_worker_{i}.log").read_text()
        announced = re.findall(r"trial (\d+) (?:complete|pruned): value \S+; best so far", log)
        assert sorted(int(n) for n in announced) == worker["trials"], log
    _, output = snakemake(workdir, "-n", *TARGET)
    assert "Nothing to be done" in output  # a finished study is not rerun
    _, output = snakemake(workdir, "-n", "--forcerun", "search_best", *TARGET)
    assert "rule train:" in output  # stage 1 depends on best.yaml
    check_report_shows_the_search(workdir)
    check_trials_are_child_runs_in_mlflow(workdir, table)


def check_trials_are_child_runs_in_mlflow(workdir: Path, table):
    from mlflow import MlflowClient

    snakemake(workdir, "-j2", "results/demo/tracking.json")
    client = MlflowClient(f"sqlite:///{workdir / 'results' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("demo")
    runs = {run.info.run_name: run for run in client.search_runs([experiment.experiment_id])}
    parent = runs["search"]
    children = [run for name, run in runs.items() if name.startswith("trial ")]
    assert sorted(run.info.run_name for run in children) == [f"trial {n}" for n in table["trial"]]
    assert {run.data.tags["mlflow.parentRunId"] for run in children} == {parent.info.run_id}
    assert parent.data.metrics["best_value"] == max(float(v) for v in table["value"] if v)
    assert {"stage1"} <= set(runs)


def check_report_shows_the_search(workdir: Path):
    """The trials table and both plots are in the report, each with its caption."""
    from playwright.sync_api import sync_playwright

    snakemake(workdir, "--report", "results/report.html", *TARGET)
    shown = {
        "trials.tsv": "search_trials",
        "optimization_history.png": "search_history",
        "param_importances.png": "search_importances",
    }
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        for name, caption in shown.items():
            page.goto((workdir / "results" / "report.html").as_uri())
            page.get_by_text("Results", exact=True).click()  # one category: its files at once
            row = page.locator("tr", has_text=f"results/demo/search/{name}")
            row.locator("a[iconname=information-circle]").click()
            assert caption_text(caption) in " ".join(page.inner_text("body").split()), name
        browser.close()


@pytest.mark.workflow
def test_a_killed_worker_is_resumed_without_running_finished_trials_again(tmp_path, tiny_bert):
    workdir = search_workflow(tmp_path, tiny_bert, workers=1, trials=3, epochs=3)
    journal = workdir / "results" / "demo" / "search" / "journal.log"
    job = start_snakemake(workdir, "-j2", *TARGET)
    deadline = time.monotonic() + 600
    try:
        while True:
            assert time.monotonic() < deadline and job.poll() is None
            trials = study_trials(journal)
            if (
                any(t.state.name == "COMPLETE" for t in trials)
                and trials[-1].state.name == "RUNNING"
                and "worker" in trials[-1].user_attrs  # unnamed ones: the test below
            ):
                break
            time.sleep(0.2)
    finally:
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()
    before = {t.number: t.params for t in study_trials(journal) if t.state.name == "COMPLETE"}
    killed = [t.number for t in study_trials(journal) if t.state.name == "RUNNING"]
    snakemake(workdir, "--unlock", *TARGET)
    snakemake(workdir, "-j2", "--rerun-incomplete", *TARGET)
    after = study_trials(journal)
    assert {t.number: t.params for t in after if t.number in before} == before  # kept, not rerun
    assert [t.state.name for t in after if t.number in killed] == ["FAIL"]
    assert sum(t.state.name in ("COMPLETE", "PRUNED") for t in after) == 3
    worker = json.loads((workdir / "results/demo/search/workers/0.json").read_text())
    assert worker["failed_stale"] == killed and not set(worker["trials"]) & set(before)
    check_finished_search(workdir, trials=3)


@pytest.mark.workflow
def test_the_search_command_runs_a_worker_then_writes_the_best(tmp_path, tiny_bert):
    """`python -m textclf search`: the study the rules would use, one worker's trials, then
    best.yaml once the study holds its trials; run again, it adds none."""
    workdir = search_workflow(tmp_path, tiny_bert, trials=2, workers=1)
    textclf = [sys.executable, "-m", "textclf"]
    subprocess.run([*textclf, "prepare", "--experiment", "demo"], cwd=workdir, check=True)
    for trials in ([0, 1], []):
        subprocess.run(
            [*textclf, "search", "--experiment", "demo", "--threads", "1"], cwd=workdir, check=True
        )
        out = workdir / "results" / "demo" / "search"
        assert json.loads((out / "workers" / "0.json").read_text())["trials"] == trials
    best = yaml.safe_load((out / "best.yaml").read_text())
    table = read_tsv(out / "trials.tsv")
    assert best["finished_trials"] == 2 and sorted(table["trial"].astype(int)) == [0, 1]
    assert best["value"] == max(float(v) for v in table["value"])


def test_a_worker_finds_the_trials_a_killed_worker_left_running():
    """Its own, and unnamed ones old enough that no live worker is about to name them."""
    from datetime import datetime, timedelta

    from optuna.trial import TrialState, create_trial

    study = optuna.create_study()

    def running(age_s: float, **attrs):
        trial = create_trial(state=TrialState.RUNNING, user_attrs=attrs)
        trial.datetime_start = datetime.now() - timedelta(seconds=age_s)
        study.add_trial(trial)

    running(10, worker=0)  # this worker's, left by its killed job
    running(10, worker=1)  # another worker's, running now
    running(searching.UNNAMED_S + 60)  # created, then its worker was killed before naming it
    running(1)  # just created by a live worker
    assert searching.fail_stale_trials(study, 0) == [0, 2]
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.RUNNING] * 2


def test_a_worker_killed_while_writing_the_journal_does_not_block_the_next(tmp_path):
    """The journal's lock is freed after Optuna's grace period, also when the workflow names
    the journal by a relative path (a symlink to it that dangled was never freed)."""
    journal = "results/demo/search/journal.log"
    storage = "from textclf.search import open_storage; s = open_storage({'storage': None}, "
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"{storage}{journal!r}); s._backend._lock.acquire(); print('held', flush=True); "
            "import time; time.sleep(600)",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline() == "held\n"
    holder.kill()  # SIGKILL: the lock stays behind
    holder.wait()
    assert (tmp_path / f"{journal}.lock").is_symlink()
    writer = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import optuna; {storage}{journal!r}); optuna.create_study(storage=s)",
        ],
        cwd=tmp_path,
        timeout=180,  # hung for good before
        capture_output=True,
        text=True,
    )
    assert writer.returncode == 0, writer.stderr
    assert "Forcibly releasing the lock file" in writer.stderr
    assert not (tmp_path / f"{journal}.lock").exists()


def study_trials(journal: Path):
    if not journal.exists():
        return []
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    storage = JournalStorage(JournalFileBackend(str(journal)))
    summaries = optuna.get_all_study_summaries(storage)
    if not summaries:
        return []
    return optuna.load_study(study_name=summaries[0].study_name, storage=storage).trials


POSTGRES = Path("/usr/lib/postgresql/15/bin")


@pytest.fixture()
def postgres():
    """A PostgreSQL server on 127.0.0.1, run as the `postgres` user (it refuses root), with a
    database `optuna`; stopped afterwards by its PID. Its folder is outside pytest's own,
    which only root may enter."""
    assert (POSTGRES / "postgres").exists(), "PostgreSQL 15 is needed (setup.sh --test)"
    root = Path(tempfile.mkdtemp(prefix="textclf-postgres-"))
    root.chmod(0o755)
    data = root / "data"
    data.mkdir()
    shutil.chown(data, "postgres", "postgres")
    as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*as_postgres, POSTGRES / "initdb", "-D", data, "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    port = free_port()
    server = subprocess.Popen(
        [
            *as_postgres,
            POSTGRES / "postgres",
            "-D",
            data,
            "-p",
            str(port),
            "-k",
            data,
            "-c",
            "listen_addresses=127.0.0.1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            ready = subprocess.run(
                [POSTGRES / "pg_isready", "-h", "127.0.0.1", "-p", str(port)], capture_output=True
            )
            if ready.returncode == 0:
                break
            time.sleep(0.2)
        subprocess.run(
            [*as_postgres, POSTGRES / "createdb", "-h", "127.0.0.1", "-p", str(port), "optuna"],
            check=True,
            capture_output=True,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/optuna"
    finally:
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.workflow
def test_the_same_search_on_a_postgresql_server(tmp_path, tiny_bert, postgres):
    workdir = search_workflow(tmp_path, tiny_bert, storage=postgres)
    snakemake(workdir, "-j4", *TARGET)
    check_finished_search(workdir)
    assert not (workdir / "results" / "demo" / "search" / "journal.log").exists()
    database = searching.database_url(postgres)  # psycopg 3, as the workflow reaches it
    assert database.startswith("postgresql+psycopg://")
    (summary,) = optuna.get_all_study_summaries(database)  # the study lives in the database
    study = optuna.load_study(study_name=summary.study_name, storage=database)
    assert sum(t.state.name in ("COMPLETE", "PRUNED") for t in study.trials) == 4


@pytest.mark.workflow
def test_an_unreachable_storage_stops_the_search_in_one_line(tmp_path, tiny_bert):
    storage = f"postgresql://optuna@127.0.0.1:{free_port()}/optuna"
    workdir = search_workflow(tmp_path, tiny_bert, storage=storage)
    code, output = snakemake(workdir, "-j2", *TARGET, check=False)
    assert code != 0
    line = f"SearchStorageError: search.storage {storage}: cannot open the study's database ("
    assert line in output
    assert not (workdir / "results" / "demo" / "search" / "study.json").exists()
