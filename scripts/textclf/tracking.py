"""Rule `track`: every model of an experiment as an MLflow run, logged from the files the other
rules wrote.

One MLflow experiment per workflow experiment; one run per model (stage 1, stage 2, the
baselines, and any kind the registry gains) with the resolved settings (`settings.yaml`, and
the model's own training settings) as params, every epoch of `history.tsv` as step metrics, the
final metrics per split, the benchmark of the rules that trained and evaluated it (seconds and
peak memory, which Snakemake writes only once a job has ended), the model as an MLflow pyfunc
model (textclf.pyfunc: the folder inside, loadable and servable by MLflow) and the figures as
artifacts. A search is a run whose trials are child runs, read from the study.

The rule runs after evaluate, one job at a time, so parallel jobs never race on the default
store, a SQLite file (`results/mlflow.db`); `tracking.uri` points at an MLflow server instead
(credentials from MLFLOW_TRACKING_USERNAME/PASSWORD, never the config). A run is identified by
a digest of the files it logs, so a rerun logs only what is new. Tracking never fails the
workflow: a store that cannot be reached costs a warning, and a count of failed attempts beside
the record (a param of the rule) changes, so the next run of the workflow tracks again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from contextlib import ExitStack
from pathlib import Path

import pandas as pd
import yaml

from textclf import layout, registry
from textclf.tsv import read_tsv, write_text

log = logging.getLogger(__name__)
KEY, DIGEST = "textclf.key", "textclf.digest"
BENCHMARK_COLUMNS = {"s": "seconds", "max_rss": "max_rss_mb", "cpu_time": "cpu_seconds"}


def flatten(settings: dict, prefix: str = "") -> dict[str, str]:
    """Nested settings as MLflow params: dotted keys, values as text (lists as JSON)."""
    flat = {}
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat |= flatten(value, f"{name}.")
        else:
            flat[name] = json.dumps(value) if isinstance(value, list | dict) else str(value)
    return flat


def numbers(values: dict, prefix: str = "") -> dict[str, float]:
    """The finite numbers of a (nested) metrics mapping, with dotted keys; an interval
    (`valid.intervals.accuracy`: [low, high]) as `.low` and `.high`."""
    found = {}
    for key, value in values.items():
        if isinstance(value, dict):
            found |= numbers(value, f"{prefix}{key}.")
        elif isinstance(value, list) and prefix.endswith("intervals.") and len(value) == 2:
            found |= numbers(dict(zip(("low", "high"), value, strict=True)), f"{prefix}{key}.")
        elif (
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        ):
            found[f"{prefix}{key}"] = float(value)
    return found


def digest(*paths, version: str = "") -> str:
    """What identifies a run: its files' bytes, and `version`, the form it is logged in."""
    hashed = hashlib.sha256(version.encode())
    for path in paths:
        if path is not None and Path(path).is_file():
            hashed.update(Path(path).read_bytes())
    return hashed.hexdigest()[:16]


class MlflowStore:
    """An MLflow experiment, through MlflowClient (no global MLflow state)."""

    def __init__(self, uri: str, experiment: str):
        from mlflow import MlflowClient

        self.client = MlflowClient(uri)
        found = self.client.get_experiment_by_name(experiment)
        self.experiment_id = (
            found.experiment_id
            if found
            else self.client.create_experiment(experiment, artifact_location=artifact_root(uri))
        )

    def logged(self) -> dict[str, set[str]]:
        """key -> digests of the runs already logged in full."""
        seen = {}
        for run in self.client.search_runs([self.experiment_id], max_results=50000):
            if DIGEST in run.data.tags:
                seen.setdefault(run.data.tags[KEY], set()).add(run.data.tags[DIGEST])
        return seen

    def log_run(
        self,
        name,
        key,
        digest_,
        params=None,
        steps=None,
        metrics=None,
        artifacts=(),
        parent=None,
        tags=None,
    ) -> str:
        """One finished run; its digest tag is set last, so a run cut short is logged again."""
        from mlflow.entities import Metric, Param

        tags = {KEY: key, **(tags or {})} | ({"mlflow.parentRunId": parent} if parent else {})
        run_id = self.client.create_run(self.experiment_id, run_name=name, tags=tags).info.run_id
        try:
            entries = [Param(k, v[:6000]) for k, v in (params or {}).items()]
            for start in range(0, len(entries), 100):  # MLflow takes 100 params per batch
                self.client.log_batch(run_id, params=entries[start : start + 100])
            now = int(pd.Timestamp.now().timestamp() * 1000)
            points = [Metric(k, v, now, 0) for k, v in (metrics or {}).items()]
            points += [
                Metric(k, v, now, step)
                for step, row in (steps or {}).items()
                for k, v in row.items()
            ]
            for start in range(0, len(points), 1000):
                self.client.log_batch(run_id, metrics=points[start : start + 1000])
            for path, where in artifacts:
                if Path(path).is_dir():
                    self.client.log_artifacts(run_id, str(path), where)
                elif Path(path).is_file():
                    self.client.log_artifact(run_id, str(path), where)
            self.client.set_tag(run_id, DIGEST, digest_)
            self.client.set_terminated(run_id)
        except Exception:
            self.client.set_terminated(run_id, status="FAILED")
            raise
        return run_id


class WandbStore:
    """A Weights & Biases project, offline by default: each run is a folder under
    `results/wandb/` and nothing leaves the machine until `wandb sync`. W&B has no nested runs:
    a search's trials share its group. What was logged is kept in `results/wandb/ledger.json`
    (offline runs cannot be searched)."""

    def __init__(self, folder, experiment: str, mode: str):
        if mode == "offline":  # process-wide, before import: W&B's own usage telemetry reads it
            os.environ["WANDB_MODE"] = "offline"
        try:
            import wandb
        except ImportError:  # pragma: no cover - the env pins it
            raise ImportError(
                "tracking.backend wandb needs wandb: pip install wandb==0.31.0"
            ) from None
        self.wandb, self.folder, self.project, self.mode = wandb, Path(folder), experiment, mode
        self.folder.mkdir(parents=True, exist_ok=True)
        self.ledger = self.folder / "ledger.json"

    def _read_ledger(self) -> dict:
        return json.loads(self.ledger.read_text()) if self.ledger.exists() else {}

    def logged(self) -> dict[str, set[str]]:
        return {k: set(v) for k, v in self._read_ledger().get(self.project, {}).items()}

    def log_run(
        self,
        name,
        key,
        digest_,
        params=None,
        steps=None,
        metrics=None,
        artifacts=(),
        parent=None,
        tags=None,
    ) -> str:
        run = self.wandb.init(
            project=self.project,
            name=name,
            dir=str(self.folder),
            mode=self.mode,
            config=params or {},
            group=parent or key,
            tags=[f"{k}:{v}" for k, v in (tags or {}).items()] or None,
            reinit="create_new",
            settings=self.wandb.Settings(silent=True),
        )
        try:
            for step, row in sorted((steps or {}).items()):
                run.log(row, step=step)
            run.summary.update(metrics or {})
            for path, where in artifacts:
                if Path(path).exists():
                    artifact = self.wandb.Artifact(
                        f"{name}-{where or Path(path).stem}".replace(" ", "-"),
                        type="model" if where == "model" else "file",
                    )
                    (artifact.add_dir if Path(path).is_dir() else artifact.add_file)(str(path))
                    run.log_artifact(artifact)
        finally:
            run.finish()
        ledger = self._read_ledger()
        ledger.setdefault(self.project, {}).setdefault(key, []).append(digest_)
        write_text(json.dumps(ledger, indent=2) + "\n", self.ledger)
        return run.id


def history_steps(folder) -> dict[int, dict[str, float]]:
    """Every epoch of a model's history.tsv: its numeric columns, by epoch."""
    path = Path(folder) / "history.tsv"
    if not path.exists():
        return {}
    history = read_tsv(path)
    steps = {}
    for row in history.to_dict("records"):
        values = {}
        for column, text in row.items():
            if column == "epoch":
                continue
            try:
                values[column] = float(text)
            except ValueError:
                continue  # e.g. "trainable": which layers, not a number
        steps[int(row["epoch"])] = values
    return steps


def benchmark_metrics(benchmarks_dir, rules: list[str]) -> dict[str, float]:
    """Seconds, peak memory and CPU time of the rules that made and measured a model."""
    found = {}
    for rule in rules:
        path = Path(benchmarks_dir) / f"{rule}.tsv"
        if not path.exists():
            continue
        row = pd.read_csv(path, sep="\t").iloc[-1]
        for column, name in BENCHMARK_COLUMNS.items():
            value = pd.to_numeric(row.get(column), errors="coerce")
            if pd.notna(value):
                found[f"benchmark.{rule}.{name}"] = float(value)
    return found


# A model run's form: its model logged as an MLflow pyfunc model (runs logged before, with the
# folder as plain files, are logged again).
MODEL_RUN_VERSION = "pyfunc-1"


def model_digest(metrics_json, folder) -> str:
    return digest(metrics_json, Path(folder) / registry.MANIFEST, version=MODEL_RUN_VERSION)


def model_run(store, experiment, name, files, settings, final, out_dir):
    """One model of one seed as a run: `name` is the model's, or `<model>/seeds/<seed>`."""
    folder, metrics_json = Path(files["folder"]), Path(files["metrics"])
    model = files.get("kind", name)
    kind = registry.KINDS[model]
    seed = files.get("seed", settings["train"]["seed"])
    params = flatten(settings) | {"model": model, "model.role": kind.role, "seed": str(seed)}
    if kind.role == registry.COMPRESSED:  # what it was made from (an int8 copy: its source)
        params["model.source"] = registry.source(settings, model)
    trained_with = folder / "training_settings.json"
    if trained_with.exists():  # what training used (a search's best settings included)
        params |= flatten(json.loads(trained_with.read_text()), "trained_with.")
    metrics = numbers(json.loads(metrics_json.read_text()))
    rules = [rule for rule in (kind.made_by.format(name=model), f"evaluate_{model}") if rule]
    metrics |= benchmark_metrics(folder.parents[1] / "benchmarks", rules)  # the seed's
    artifacts = [(out_dir / "settings.yaml", None)]
    with ExitStack() as stack:
        if settings["tracking"]["artifacts"]:
            from textclf.pyfunc import pyfunc_folder

            artifacts.append((stack.enter_context(pyfunc_folder(folder)), "model"))
            if name == final:
                artifacts.append((out_dir / "figures", "figures"))
        return store.log_run(
            name,
            f"{experiment}/{name}",
            model_digest(metrics_json, folder),
            params,
            history_steps(folder),
            metrics,
            artifacts,
            tags={"seed": str(seed), "model": model},
        )


def significance_run(store, experiment, significance_tsv) -> str:
    """The paired tests as a run: each comparison's difference, interval and p-values as
    metrics (`<a>_vs_<b>.<split>.<metric>.difference`, ...), the table as an artifact."""
    table = pd.read_csv(significance_tsv, sep="\t")
    metrics = {}
    for row in table.to_dict("records"):
        stem = f"{row['a']}_vs_{row['b']}.{row['split']}.{row['metric']}"
        for column in ("difference", "low", "high", "p_bootstrap", "p_mcnemar", "p_holm"):
            value = pd.to_numeric(row[column], errors="coerce")
            if pd.notna(value):
                metrics[f"{stem}.{column}"] = float(value)
    seeds = str(int(table["seeds"].max())) if len(table) else "1"
    return store.log_run(
        "significance",
        f"{experiment}/significance",
        digest(significance_tsv),
        params={"seeds": seeds},
        metrics=metrics,
        artifacts=[(significance_tsv, None)],
        tags={"seeds": seeds},
    )


def search_runs(store, experiment, search, journal, trials_tsv) -> list[str]:
    """The search as a run, each trial a child run with its settings, score and the score of
    every epoch it reported."""
    from textclf.search import load

    study = load(Path(trials_tsv).parent / "study.json", search, journal)
    key = f"{experiment}/search"
    parent = store.log_run(
        "search",
        key,
        digest(trials_tsv),
        params=flatten(search, "search.") | {"study": study.study_name},
        metrics={"best_value": study.best_value},
        artifacts=[(trials_tsv, None)],
    )
    children = []
    for trial in study.get_trials(deepcopy=False):
        if trial.user_attrs.get("surplus"):
            continue
        metrics = {"value": trial.value} if trial.value is not None else {}
        steps = {step: {"score": value} for step, value in trial.intermediate_values.items()}
        params = flatten(trial.params) | {"state": trial.state.name.lower()}
        children.append(
            store.log_run(
                f"trial {trial.number}",
                f"{key}/{trial.number}",
                digest(trials_tsv),
                params,
                steps,
                metrics,
                parent=parent,
            )
        )
    return [parent, *children]


def open_store(experiment: str, tracking: dict, uri: str, out_dir: Path):
    if tracking["backend"] == "wandb":
        return WandbStore(out_dir.parent / "wandb", experiment, tracking["wandb_mode"])
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    return MlflowStore(uri, experiment)


def track(
    experiment: str,
    settings_yaml,
    models: dict[str, dict],
    uri: str,
    out_json,
    final: str,
    search: dict | None = None,
    journal=None,
    trials_tsv=None,
    significance_tsv=None,
) -> None:
    """Log what is new of the experiment to the store; never raise for the store's sake."""
    out_dir = Path(settings_yaml).parent
    settings = yaml.safe_load(Path(settings_yaml).read_text())
    tracking = settings["tracking"]
    where = "W&B (results/wandb)" if tracking["backend"] == "wandb" else uri
    record = {"backend": tracking["backend"], "store": where, "runs": {}}
    try:
        store = open_store(experiment, tracking, uri, out_dir)
        logged = store.logged()
        for model, files in models.items():
            key = f"{experiment}/{model}"
            if model_digest(files["metrics"], files["folder"]) in logged.get(key, ()):
                log.info("%s: already tracked", key)
                continue
            run = model_run(store, experiment, model, files, settings, final, out_dir)
            record["runs"][model] = run
            log.info("%s: tracked as run %s", key, run)
        searched = trials_tsv is not None
        if searched and digest(trials_tsv) not in logged.get(f"{experiment}/search", ()):
            record["runs"]["search"] = search_runs(store, experiment, search, journal, trials_tsv)
        tested = significance_tsv is not None and Path(significance_tsv).exists()
        if tested and digest(significance_tsv) not in logged.get(f"{experiment}/significance", ()):
            record["runs"]["significance"] = significance_run(store, experiment, significance_tsv)
        record["status"] = "complete"
    except Exception as error:  # the store's trouble must not fail the workflow
        reason = " ".join(str(error).split())[:300]
        log.warning(
            "tracking to %s failed (%s: %s); every result is intact, and the next run "
            "of the workflow tracks what is missing",
            where,
            type(error).__name__,
            reason,
        )
        record |= {"status": "incomplete", "error": f"{type(error).__name__}: {reason}"}
    write_text(json.dumps(record, indent=2) + "\n", out_json)
    if record["status"] != "complete":  # a new count is a new param: track reruns next time
        failures = layout.tracking_failures(out_json)
        write_text(f"{layout.failed_attempts(failures) + 1}\n", failures)


def artifact_root(uri: str) -> str | None:
    """Where a new experiment keeps its artifacts: beside a SQLite store; a server decides."""
    if uri.startswith("sqlite:///"):
        database = Path(uri.removeprefix("sqlite:///"))
        return (database.parent.absolute() / "mlflow-artifacts").as_uri()
    return None
