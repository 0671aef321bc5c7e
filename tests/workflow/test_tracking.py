"""Experiment tracking: MLflow (SQLite store, a server, one unreachable) and W&B offline."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from conftest import free_port

from textclf.tsv import read_tsv
from workflow.helpers import mlflow_runs, planned_jobs, snakemake

pytestmark = pytest.mark.workflow


def test_every_model_is_an_mlflow_run_in_the_sqlite_store(workflow):
    uri = f"sqlite:///{workflow / 'results' / 'mlflow.db'}"
    client, runs = mlflow_runs(uri, "demo")
    assert set(runs) == {"scratch", "tfidf", "stage1", "finetuned", "significance"}
    stage1 = runs["stage1"]
    assert stage1.info.status == "FINISHED"
    assert stage1.data.tags["seed"] == stage1.data.params["seed"] == "42"
    metrics = json.loads((workflow / "results/demo/metrics/stage1.json").read_text())
    low, high = metrics["valid"]["intervals"]["accuracy"]
    assert stage1.data.metrics["valid.intervals.accuracy.low"] == low
    assert stage1.data.metrics["valid.intervals.accuracy.high"] == high
    tested = runs["significance"].data.metrics
    assert 0 <= tested["finetuned_vs_stage1.valid.accuracy.p_bootstrap"] <= 1
    assert "significance.tsv" in {
        a.path for a in client.list_artifacts(runs["significance"].info.run_id)
    }
    assert stage1.data.params["train.epochs"] == "2" and stage1.data.params["model.role"] == "stage"
    assert stage1.data.params["trained_with.learning_rate"] == "0.001"
    history = read_tsv(workflow / "results/demo/checkpoints/stage1/history.tsv")
    steps = client.get_metric_history(stage1.info.run_id, "valid_accuracy")
    assert [(m.step, m.value) for m in steps] == [
        (int(e), float(a)) for e, a in zip(history["epoch"], history["valid_accuracy"], strict=True)
    ]
    metrics = json.loads((workflow / "results/demo/metrics/stage1.json").read_text())
    assert stage1.data.metrics["valid.accuracy"] == metrics["valid"]["accuracy"]
    assert stage1.data.metrics["test.f1_macro"] == metrics["test"]["f1_macro"]
    assert stage1.data.metrics["benchmark.train.seconds"] > 0
    assert stage1.data.metrics["benchmark.evaluate_stage1.max_rss_mb"] > 0
    artifacts = {a.path for a in client.list_artifacts(runs["finetuned"].info.run_id)}
    assert {"model", "figures", "settings.yaml"} <= artifacts
    finetuned = runs["finetuned"].info.run_id
    listed = {a.path for a in client.list_artifacts(finetuned, "model")}
    assert {"model/MLmodel", "model/artifacts", "model/code", "model/requirements.txt"} <= listed
    inside = "model/artifacts/finetuned"  # the model folder, under its own name
    folder = {a.path for a in client.list_artifacts(finetuned, inside)}
    assert {f"{inside}/{f}" for f in ("model.safetensors", "manifest.json")} <= folder
    assert "benchmark.baseline_tfidf.seconds" in runs["tfidf"].data.metrics
    _, emotions = mlflow_runs(uri, "demo_emotions")
    compressed = {"onnx", "onnx-int8", "pruned", "distilled", "distilled-onnx-int8"}
    assert set(emotions) == {"scratch", "tfidf", "stage1", "finetuned", "significance"} | compressed
    for kind in compressed:  # tracked like every other model
        assert emotions[kind].data.params["model.role"] == "compressed"
        assert "valid.f1_macro" in emotions[kind].data.metrics
    assert emotions["pruned"].data.metrics["benchmark.prune.seconds"] > 0
    assert emotions["distilled-onnx-int8"].data.params["model.source"] == "distilled"
    assert emotions["onnx"].data.params["model.source"] == "finetuned"
    assert emotions["onnx-int8"].data.metrics["benchmark.compress_onnx-int8.seconds"] > 0
    record = json.loads((workflow / "results" / "demo" / "tracking.json").read_text())
    assert record["status"] == "complete"


def wait_until_answering(url: str, server: subprocess.Popen, log: Path | None = None) -> None:
    """Wait up to 2 minutes for a server started by the test to answer `url`."""
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            alive = server.poll() is None
            assert alive and time.monotonic() < deadline, log.read_text() if log else "no server"
            time.sleep(0.5)


def _labelled(folder, texts) -> list[dict]:
    from textclf import registry
    from textclf.inference import labelled

    return labelled(registry.load_predictor(folder), texts)


def test_a_tracked_model_is_served_by_mlflow_with_the_predictors_labels(workflow, tmp_path):
    """`mlflow models serve -m runs:/<id>/model --env-manager local`, as the docs say, answers
    a POST with the predictor's labels and scores; the multi-label, ONNX int8 and pruned models
    load from their runs as pyfunc models and label as their predictors do."""
    from conftest import DEMO, EMOTIONS, REPO

    uri = f"sqlite:///{workflow / 'results' / 'mlflow.db'}"
    _, runs = mlflow_runs(uri, "demo")
    texts = read_tsv(DEMO / "test.tsv")["text"].head(12).tolist()
    port = free_port()
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": uri,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    run_id = runs["finetuned"].info.run_id
    command = ["mlflow", "models", "serve", "-m", f"runs:/{run_id}/model", "--env-manager"]
    server = subprocess.Popen(
        [*command, "local", "-h", "127.0.0.1", "-p", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "serve.log").open("w"),
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{url}/ping", server, tmp_path / "serve.log")
        body = json.dumps({"dataframe_records": [{"text": text} for text in texts]}).encode()
        request = urllib.request.Request(
            f"{url}/invocations", body, {"Content-Type": "application/json"}
        )
        answer = json.loads(urllib.request.urlopen(request, timeout=60).read())
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    expected = _labelled(workflow / "results/demo/checkpoints/finetuned", texts)
    assert answer["predictions"] == expected
    assert all(0 <= record["score"] <= 1 for record in answer["predictions"])
    # every kind loads from its run in a fresh process outside the checkout, as a user's would:
    # the model's own copy of textclf (and its schema) is what runs
    _, emotions = mlflow_runs(uri, "demo_emotions")
    emotion_texts = read_tsv(EMOTIONS / "test.tsv")["text"].head(12).tolist()
    load = (
        "import json, sys, mlflow.pyfunc, pandas as pd; "
        "model = mlflow.pyfunc.load_model(sys.argv[1]); "
        "answer = model.predict(pd.DataFrame({'text': json.loads(sys.argv[2])})); "
        "where = sys.modules['textclf'].__file__; "
        "print(json.dumps({'records': answer.to_dict('records'), 'textclf': where}))"
    )
    for experiment, kind, folder, kind_texts in (
        (runs, "tfidf", "results/demo/baselines/tfidf", texts),
        (emotions, "finetuned", "results/demo_emotions/checkpoints/finetuned", emotion_texts),
        (emotions, "onnx-int8", "results/demo_emotions/compressed/onnx-int8", emotion_texts),
        (emotions, "pruned", "results/demo_emotions/compressed/pruned", emotion_texts),
    ):
        model_uri = f"runs:/{experiment[kind].info.run_id}/model"
        done = subprocess.run(
            [sys.executable, "-c", load, model_uri, json.dumps(kind_texts)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        answer = json.loads(done.stdout.strip().splitlines()[-1])
        assert not answer["textclf"].startswith(str(REPO)), answer["textclf"]  # the model's copy
        assert answer["records"] == _labelled(workflow / folder, kind_texts), kind


def track_with(workflow, tracking: dict):
    """Run the workflow's default target with another tracking section (only track reruns)."""
    change = {"tracking": tracking}
    assert planned_jobs(workflow, change) == {"settings": 1, "track": 1}  # and no other job
    return snakemake(
        workflow,
        "-j1",
        "results/prediction.csv",
        "all_experiments",
        "--configfile",
        "config.yaml",
        "change.yaml",
    )


def test_a_tracking_change_reruns_only_track_and_logs_to_an_mlflow_server(workflow, tmp_path):
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'server.db'}",
            "--artifacts-destination",
            str(tmp_path / "artifacts"),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{url}/health", server)
        track_with(workflow, {"uri": url})
        _, runs = mlflow_runs(url, "demo")
        assert set(runs) == {"scratch", "tfidf", "stage1", "finetuned", "significance"}
        assert list((tmp_path / "artifacts").rglob("model.safetensors"))  # sent to the server
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        snakemake(workflow, "-j1", "results/prediction.csv", "all_experiments")  # back again


def test_an_unreachable_tracking_server_costs_a_warning_not_a_result(workflow):
    outputs = {
        p: p.stat().st_mtime_ns
        for p in (workflow / "results" / "demo").rglob("*")
        if p.is_file()
        and "logs" not in p.parts
        and p.name not in ("tracking.json", "settings.yaml")
    }
    url = f"http://127.0.0.1:{free_port()}"
    try:
        track_with(workflow, {"uri": url})  # the workflow succeeds
        log = (workflow / "results" / "demo" / "logs" / "track.log").read_text()
        assert f"tracking to {url} failed" in log and "every result is intact" in log
        record = workflow / "results" / "demo" / "tracking.json"
        assert json.loads(record.read_text())["status"] == "incomplete"
        assert {p: p.stat().st_mtime_ns for p in outputs} == outputs
        change = {"tracking": {"uri": url}}
        assert planned_jobs(workflow, change) == {"track": 1}  # tried again next time
    finally:
        snakemake(workflow, "-j1", "results/prediction.csv", "all_experiments")
    assert planned_jobs(workflow) == {}


def test_wandb_offline_writes_run_folders_and_sends_nothing(workflow):
    import socketserver
    import threading

    connections = []

    class Count(socketserver.BaseRequestHandler):
        def handle(self):
            connections.append(self.request.recv(300))

    listener = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Count)
    threading.Thread(target=listener.serve_forever, daemon=True).start()
    host = f"http://127.0.0.1:{listener.server_address[1]}"
    change = {"tracking": {"backend": "wandb"}}
    (workflow / "change.yaml").write_text(yaml.safe_dump(change))
    try:
        snakemake(
            workflow,
            "-j1",
            "results/prediction.csv",
            "--configfile",
            "config.yaml",
            "change.yaml",
            env={"WANDB_BASE_URL": host, "WANDB_API_KEY": "x" * 40},
        )
    finally:
        listener.shutdown()
        listener.server_close()
    assert connections == []  # offline: nothing left the machine, W&B's usage telemetry neither
    runs = sorted((workflow / "results" / "wandb" / "wandb").glob("offline-run-*"))
    assert len(runs) == 5 and all(list(run.glob("run-*.wandb")) for run in runs)
    ledger = json.loads((workflow / "results" / "wandb" / "ledger.json").read_text())
    tracked = ("scratch", "tfidf", "stage1", "finetuned", "significance")
    assert set(ledger["demo"]) == {f"demo/{m}" for m in tracked}
    assert json.loads((workflow / "results/demo/tracking.json").read_text())["status"] == "complete"
    for path in (workflow / "results" / "wandb").rglob("*"):
        if path.is_file():
            assert b"x" * 40 not in path.read_bytes(), path
    snakemake(workflow, "-j1", "results/prediction.csv")  # back to MLflow
