"""Hyperparameter search, the `search` stage's work: the stage-1 settings searched with Optuna,
as parallel worker jobs on one study.

- `create_study` (rule `search_study`) names the study after what it searches (the space, the
  sampler, the budget, the fixed training settings, the model and the training rows), creates
  it in the storage and writes `search/study.json`. Another space or other data is another
  study; more trials continue the same one.
- `run_worker` (rule `search_worker`, `search.workers` of them at once, on one machine or as
  cluster jobs) first marks the trials it left RUNNING when it was killed as failed, then runs
  trials until the study holds `search.trials` finished (complete or pruned) ones.
- `summarise` (rule `search_best`) writes `search/best.yaml` (what stage 1 then trains with),
  `search/trials.tsv` and the report's plots.

A trial trains on train minus an inner validation split (stratified, seeded) and is scored on
that split by the experiment's selection metric at its best epoch: valid.tsv is never seen by
the search, so the valid score reported afterwards is not the one the search climbed. The
median pruner reads each epoch's score through the training callback.

Storage: an Optuna journal file by default (no server; safe for workers on one machine or a
shared file system), or a database URL (`search.storage`, PostgreSQL recommended), where
Optuna's heartbeat also fails the trials of a worker that died.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import warnings
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import yaml

from textclf.config import from_section
from textclf.labels import LabelSpace
from textclf.prepare import stratified_sample
from textclf.training import TrainSettings, new_classifier, train
from textclf.tsv import DataError, read_tsv, write_text, write_tsv

log = logging.getLogger(__name__)
INTEGER_PARAMETERS = {"epochs", "unfreeze_layers"}
HEARTBEAT_S, GRACE_S = 60, 180
UNNAMED_S = 120  # a trial is named by its worker within moments of being created


class SearchStorageError(DataError):
    """The study's storage cannot be reached; the message names it without its password."""


def redact(url: str) -> str:
    """A database URL without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _optuna():
    try:
        import optuna
    except ImportError:  # pragma: no cover - the env pins it
        raise ImportError("search needs optuna: pip install optuna==5.0.0") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # The heartbeat that fails a dead worker's trials is marked experimental; it is wanted.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


def database_url(url: str) -> str:
    """SQLAlchemy's URL for `search.storage`: PostgreSQL through psycopg 3 (SQLAlchemy's plain
    `postgresql://` means the legacy psycopg2, which the workflow does not install)."""
    scheme, separator, rest = url.partition("://")
    if separator and scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    return url


def open_storage(search: dict, journal_path):
    """The study's storage: the journal file, or the database at `search.storage`."""
    optuna = _optuna()
    if search["storage"] is None:
        from optuna.storages.journal import JournalFileBackend

        # Absolute: the journal's lock is a symlink to it, and Optuna frees the lock of a worker
        # killed while writing only when the link resolves (a relative target dangles, and the
        # next worker then waits for the lock forever).
        journal_path = Path(journal_path).resolve()
        journal_path.parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.JournalStorage(JournalFileBackend(str(journal_path)))
    url = search["storage"]
    try:
        return optuna.storages.RDBStorage(
            database_url(url),
            heartbeat_interval=HEARTBEAT_S,
            grace_period=GRACE_S,
            engine_kwargs={"pool_pre_ping": True},
        )
    except Exception as error:  # sqlalchemy's errors carry the URL; say it without the password
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        for shown in (database_url(url), url):
            reason = reason.replace(shown, redact(shown))
        raise SearchStorageError(
            f"search.storage {redact(url)}: cannot open the study's database ({reason})"
        ) from None


def startup_trials(trials: int) -> int:
    """Random trials before TPE models the results: a quarter of the budget, 2 to 10."""
    return min(trials, max(2, min(10, trials // 4)))


def sampler_and_pruner(search: dict, worker: int = 0, trials_before: int = 0):
    """Each worker draws from its own seed: workers that start together with one seed would
    draw the same first settings."""
    optuna = _optuna()
    startup = startup_trials(search["trials"])
    seed = search["seed"] + 1000 * worker + trials_before
    if search["sampler"] == "random":
        sampler = optuna.samplers.RandomSampler(seed=seed)
    else:
        sampler = optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=startup, constant_liar=True
        )
    # Steps are epoch numbers (from 1), and the pruner skips steps below n_warmup_steps.
    pruner = optuna.pruners.MedianPruner(
        n_startup_trials=startup, n_warmup_steps=search["prune_warmup_epochs"] + 1
    )
    return sampler, pruner


def study_name(experiment: str, search: dict, training: dict, model_name: str, train_tsv) -> str:
    """The experiment's name and a digest of everything that makes the trials comparable."""
    searched = {
        key: search[key]
        for key in ("space", "sampler", "seed", "inner_valid_share", "max_train_rows", "epochs")
    }
    fixed = {k: v for k, v in training.items() if k not in search["space"]}
    digest = hashlib.sha256(
        json.dumps([searched, fixed, model_name], sort_keys=True).encode()
        + Path(train_tsv).read_bytes()
    ).hexdigest()
    return f"{experiment}-{digest[:12]}"


def create_study(
    experiment, train_tsv, search: dict, training: dict, model_name, out_json, journal
) -> None:
    optuna = _optuna()
    name = study_name(experiment, search, training, model_name, train_tsv)
    storage = open_storage(search, journal)
    sampler, pruner = sampler_and_pruner(search)
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        direction="maximize",
        sampler=sampler,
        pruner=pruner,
        load_if_exists=True,
    )
    finished = len(finished_trials(study))
    log.info("study %s: %d of %d trials finished", name, finished, search["trials"])
    record = {"study": name, "storage": redact(search["storage"] or str(journal))}
    write_text(json.dumps(record, indent=2) + "\n", out_json)


def load(study_json, search: dict, journal, worker: int = 0):
    """The study, with this worker's sampler. The sampler's seed also counts the trials the
    study holds already, so a worker restarted after a kill does not replay its first draws."""
    optuna = _optuna()
    name = json.loads(Path(study_json).read_text())["study"]
    storage = open_storage(search, journal)
    study = optuna.load_study(study_name=name, storage=storage)
    study.sampler, study.pruner = sampler_and_pruner(search, worker, len(study.trials))
    return study


def finished_trials(study) -> list:
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))


class SurplusTrial(Exception):
    """A trial asked for when the study already has all its trials finished or running."""


def surplus(study, trial, trials: int) -> bool:
    """Whether `trial` is beyond the budget: workers that ask at the same moment may together
    start more trials than are left. Failed trials leave their place to replacements."""
    from optuna.trial import TrialState

    live = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)
    numbers = sorted(t.number for t in study.get_trials(deepcopy=False, states=live))
    return trial.number in numbers[trials:]


def fail_stale_trials(study, worker: int) -> list[int]:
    """Mark failed the trials this worker left RUNNING (it was killed): a worker id runs as
    one job at a time, so they cannot be running still. So are trials left RUNNING without a
    worker's name by a worker killed between creating a trial and naming it, once older than
    UNNAMED_S. The study then runs replacements."""
    from datetime import datetime, timedelta

    from optuna.trial import TrialState

    unnamed_before = datetime.now().astimezone() - timedelta(seconds=UNNAMED_S)
    stale = [
        trial
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if trial.user_attrs.get("worker") == worker
        or (
            "worker" not in trial.user_attrs
            # Optuna keeps the start in local time, naive or aware
            and trial.datetime_start.astimezone() < unnamed_before
        )
    ]
    for trial in stale:
        study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
        log.warning(
            "trial %d was left running by a killed worker %s: failed",
            trial.number,
            trial.user_attrs.get("worker", "(unnamed)"),
        )
    return [trial.number for trial in stale]


def suggest(trial, space: dict) -> dict:
    """One draw from the search space: lists are choices, {low, high} ranges."""
    params = {}
    for name, spec in space.items():
        if isinstance(spec, list):
            params[name] = trial.suggest_categorical(name, spec)
        elif name in INTEGER_PARAMETERS:
            params[name] = trial.suggest_int(name, spec["low"], spec["high"])
        else:
            log_scale = spec.get("log", False)
            params[name] = trial.suggest_float(name, spec["low"], spec["high"], log=log_scale)
    return params


def inner_split(train_rows: pd.DataFrame, search: dict, source) -> tuple:
    """(trial training rows, trial validation rows), both drawn from train, seeded."""
    rest, inner_valid = stratified_sample(
        train_rows, search["inner_valid_share"], search["seed"], source
    )
    if search["max_train_rows"] and search["max_train_rows"] < len(rest):
        _, rest = stratified_sample(rest, search["max_train_rows"], search["seed"], source)
    return rest, inner_valid


def trial_settings(training: dict, params: dict, search: dict) -> TrainSettings:
    settings = from_section(TrainSettings, {**training, **params}, "train")
    if search["epochs"] is not None:
        settings.epochs = min(settings.epochs, search["epochs"])
    return settings


def run_trial(trial, worker, rows, space: LabelSpace, search, training, model_name, threads):
    """Train with one draw of the space; the score of its best epoch on the inner split."""
    optuna = _optuna()
    trial.set_user_attr("worker", worker)
    trial.set_user_attr("host", f"{socket.gethostname()}:{os.getpid()}")
    params = suggest(trial, search["space"])
    settings = trial_settings(training, params, search)
    metric = settings.selection_metric(space)
    inner_train, inner_valid = rows
    log.info("trial %d (worker %d): %s", trial.number, worker, json.dumps(params))
    model, tokenizer = new_classifier(model_name, space, settings, inner_train)
    pruned_at = []

    def report(record: dict) -> bool:
        trial.report(record[f"valid_{metric}"], record["epoch"])
        # after its last epoch a trial has paid for its training: it completes
        if record["epoch"] < settings.epochs and trial.should_prune():
            pruned_at.append(record["epoch"])
            return True
        return False

    _, history = train(model, tokenizer, inner_train, inner_valid, settings, threads, [report])
    trial.set_user_attr("epochs_run", len(history))
    trial.set_user_attr("best_epoch", int(history.loc[history["best"], "epoch"].iloc[0]))
    if pruned_at:
        log.info("trial %d pruned after epoch %d", trial.number, pruned_at[0])
        raise optuna.TrialPruned(f"pruned after epoch {pruned_at[0]}")
    return float(history[f"valid_{metric}"].max())


def log_trial(study, trial, trials: int) -> None:
    """A log line per finished trial: its number, state and value, and the study's best so
    far (every worker's trials counted)."""
    if trial.user_attrs.get("surplus"):
        return
    value = "-" if trial.value is None else f"{trial.value:.4f}"
    try:
        best = f"{study.best_value:.4f} (trial {study.best_trial.number})"
    except ValueError:  # no trial has completed yet
        best = "none yet"
    log.info(
        "trial %d %s: value %s; best so far %s; %d of %d finished",
        trial.number,
        trial.state.name.lower(),
        value,
        best,
        len(finished_trials(study)),
        trials,
    )


def run_worker(
    worker: int,
    study_json,
    train_tsv,
    dataset_json,
    search: dict,
    training: dict,
    model_name: str,
    out_json,
    journal,
    threads: int = 1,
) -> int:
    """Run trials until the study holds search.trials finished ones; how many it holds."""
    optuna = _optuna()
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    study = load(study_json, search, journal, worker)
    failed = fail_stale_trials(study, worker)
    space = LabelSpace.read(dataset_json)
    rows = inner_split(read_tsv(train_tsv), search, train_tsv)
    log.info("worker %d: %d trial rows, %d inner valid rows", worker, len(rows[0]), len(rows[1]))
    before = {t.number for t in study.get_trials(deepcopy=False)}

    def objective(trial):
        if surplus(study, trial, search["trials"]):  # another worker took the last one
            trial.set_user_attr("surplus", True)
            study.stop()
            raise SurplusTrial(f"trial {trial.number}: the study has its {search['trials']}")
        return run_trial(trial, worker, rows, space, search, training, model_name, threads)

    if len(finished_trials(study)) < search["trials"]:
        enough = MaxTrialsCallback(
            search["trials"], states=(TrialState.COMPLETE, TrialState.PRUNED)
        )
        announce = partial(log_trial, trials=search["trials"])
        study.optimize(objective, callbacks=[announce, enough], catch=(SurplusTrial,))
    ran = sorted(
        t.number
        for t in study.get_trials(deepcopy=False)
        if t.number not in before
        and t.user_attrs.get("worker") == worker
        and not t.user_attrs.get("surplus")
    )
    log.info(
        "worker %d ran trials %s; the study holds %d finished",
        worker,
        ran,
        len(finished_trials(study)),
    )
    record = {"worker": worker, "trials": ran, "failed_stale": failed, "optuna": optuna.__version__}
    write_text(json.dumps(record, indent=2) + "\n", out_json)
    return len(finished_trials(study))


def trials_table(study) -> pd.DataFrame:
    rows = []
    for trial in study.get_trials(deepcopy=False):
        if trial.user_attrs.get("surplus"):
            continue
        duration = trial.duration.total_seconds() if trial.duration else None
        rows.append(
            {
                "trial": trial.number,
                "state": trial.state.name.lower(),
                "value": trial.value,
                **trial.params,
                "epochs_run": trial.user_attrs.get("epochs_run"),
                "best_epoch": trial.user_attrs.get("best_epoch"),
                "worker": trial.user_attrs.get("worker"),
                "seconds": round(duration, 1) if duration is not None else None,
            }
        )
    return pd.DataFrame(rows)


def summarise(
    study_json, search: dict, journal, out_best, out_trials, out_history, out_importances
) -> None:
    """best.yaml, trials.tsv and the plots of a finished study."""
    study = load(study_json, search, journal)
    best = study.best_trial
    record = {
        "study": study.study_name,
        "trial": best.number,
        "value": best.value,
        "finished_trials": len(finished_trials(study)),
        "settings": best.params,
    }
    log.info("best trial %d: %.4f with %s", best.number, best.value, json.dumps(best.params))
    write_text(yaml.safe_dump(record, sort_keys=False), out_best)
    write_tsv(trials_table(study).astype(str).replace({"None": "", "nan": ""}), out_trials)
    _plot(study, out_history, out_importances)


def _plot(study, out_history, out_importances) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as plots

    from textclf.tsv import atomic_path

    for path, draw in (
        (out_history, plots.plot_optimization_history),
        (out_importances, plots.plot_param_importances),
    ):
        try:
            figure = draw(study).figure
        except (ValueError, RuntimeError) as error:  # e.g. too few complete trials to rank
            figure = plt.figure()
            figure.text(0.5, 0.5, f"not drawn: {error}", ha="center", wrap=True)
        figure.set_size_inches(9, 6)
        with atomic_path(path) as tmp:
            figure.savefig(tmp, dpi=100, format="png")
        plt.close(figure)


def best_settings(best_yaml) -> dict:
    """The searched settings of the best trial, for stage 1."""
    return yaml.safe_load(Path(best_yaml).read_text())["settings"]
