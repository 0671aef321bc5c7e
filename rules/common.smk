import os
import sys

sys.path.insert(0, os.path.join(workflow.basedir, "scripts"))

from textclf import layout, registry, stages
from textclf.config import SettingsError, check, dataset_labels, member_settings

# Every experiment's settings, resolved (defaults filled in) and checked before any job: a
# mistake stops here with one line naming the key.
try:
    SETTINGS = check(config)
except SettingsError as error:
    sys.exit(f"Configuration error: {error}")

DEFAULT = config["default_experiment"]


wildcard_constraints:
    experiment="[A-Za-z0-9_-]+",
    split="train|valid|test",
    model="|".join(registry.names()),
    baseline="|".join(registry.names(registry.BASELINE)),
    worker="[0-9]+",
    member=layout.MEMBER,  # "" (the first seed's models) or /seeds/<seed>


def settings(experiment):
    """The experiment's resolved settings (textclf.config.experiment_settings)."""
    return SETTINGS[experiment]


def setting(experiment, key):
    """One resolved setting by its dotted key: setting("demo", "search.enabled")."""
    value = settings(experiment)
    for part in key.split("."):
        value = value[part]
    return value


def run_settings(wildcards):
    """The settings of the job's models: the experiment's, or, with a {member} wildcard naming
    another seed, that seed's (textclf.config.member_settings)."""
    seed = layout.member_seed(wildcards.get("member", ""))
    resolved = settings(wildcards.experiment)
    return resolved if seed is None else member_settings(resolved, seed)


def run_name(wildcards):
    """Where the job's models live: the experiment, or `<experiment>/seeds/<seed>`."""
    return wildcards.experiment + wildcards.get("member", "")


def stage_settings(name, **fixed):
    """Params function: the part of the experiment's settings stage `name` reads
    (textclf.stages.STAGES), the rule's one `settings` param, so a change elsewhere leaves the
    rule as it is. A rule with a {baseline} or {model} wildcard reads that kind's part, one
    with a {member} wildcard that seed's."""

    def lookup(wildcards):
        kind = wildcards.get("baseline") or wildcards.get("model")
        options = {"kind": kind} if kind else {}
        experiment = wildcards.experiment
        return stages.STAGES[name].settings(run_settings(wildcards), experiment, **options, **fixed)

    return lookup


# --- targets ----------------------------------------------------------------------------------


def experiment_outputs(experiment):
    """What an experiment results in: predictions, every model's metrics (every seed's), the
    comparison and its paired tests, the figures, the search's table and plots when it
    searches, and the record of its settings (ancient: rewriting it reruns nothing)."""
    tracked = setting(experiment, "tracking.enabled")
    return (
        [layout.prediction(experiment)]
        + list(every_metrics(experiment).values())
        + [layout.comparison(experiment), layout.significance(experiment)]
        + figure_files(experiment)
        + search_files(experiment)
        + [ancient(layout.settings(experiment))]
        + ([ancient(layout.tracking_record(experiment))] if tracked else [])
    )


# --- download, prepare ------------------------------------------------------------------------


def downloads():
    """Dataset folder -> download spec (with the first experiment that names it), for the
    folders that lack train.tsv: a local copy is never touched, so a forced or failed
    download can never overwrite or delete it."""
    found = {}
    for name in config["experiments"]:
        s = settings(name)
        missing = not os.path.exists(layout.dataset_file(s["dataset"], "train"))
        if s.get("download") and missing and s["dataset"] not in found:
            found[s["dataset"]] = {**s["download"], "experiment": name}
    return found


def dataset_files(wildcards):
    """train.tsv and test.tsv of the experiment's dataset, and valid.tsv where it has one or
    its download makes one (without it, prepare holds out a stratified share of train)."""
    s = settings(wildcards.experiment)
    folder = s["dataset"]
    downloaded = layout.downloaded(folder, s["download"]) if s.get("download") else {}
    valid = os.path.exists(layout.dataset_file(folder, "valid")) or "valid" in downloaded
    return layout.dataset_files(folder, valid)


# --- search -----------------------------------------------------------------------------------


def search_files(experiment):
    return layout.search_report(experiment) if setting(experiment, "search.enabled") else []


def search_journal(wildcards):
    """The Optuna journal file of the experiment's study (used when search.storage is null)."""
    return layout.search(wildcards.experiment, "journal.log")


def search_workers(wildcards):
    count = setting(wildcards.experiment, "search.workers")
    return [layout.search_worker(wildcards.experiment, i) for i in range(count)]


def worker_threads(wildcards):
    """Threads of one search worker: the local cores shared by the workers, which run at once
    (on a cluster each worker is a job with CPUs of its own: profiles/slurm sets them)."""
    workers = setting(wildcards.experiment, "search.workers")
    return max(1, (workflow.resource_settings.cores or 2) // workers)


# --- train ------------------------------------------------------------------------------------


def searched_settings(wildcards):
    """Stage 1's input best.yaml when the experiment searches its settings."""
    if not setting(wildcards.experiment, "search.enabled"):
        return {}
    return {"best": layout.search(wildcards.experiment, "best.yaml")}


# --- compress, push, predict, evaluate, speed, comparison --------------------------------------


def final_checkpoint(wildcards):
    """The folder of the method's last stage (compressed models start from it, push uploads
    it), of the job's seed."""
    final = registry.final_stage(settings(wildcards.experiment))
    return registry.model_folder(run_name(wildcards), final)


def final_metrics(wildcards):
    final = registry.final_stage(settings(wildcards.experiment))
    return layout.metrics(wildcards.experiment, final)


def compressed_source(wildcards):
    """The folder a compressed model is made from: the final stage's, or the compressed model
    its kind names as source (distilled-onnx-int8: the distilled model)."""
    source = registry.source(settings(wildcards.experiment), wildcards.model)
    return registry.model_folder(run_name(wildcards), source)


def predicting_model(wildcards):
    """The folder of the model that writes prediction.csv (predict.model; final: the last stage)."""
    chosen = registry.predicting(settings(wildcards.experiment))
    return registry.model_folder(wildcards.experiment, chosen)


def model_dir(wildcards):
    """The saved folder of a model of any registered kind (of the job's seed)."""
    return registry.model_folder(run_name(wildcards), wildcards.model)


def labelled_splits(wildcards):
    return {split: layout.split(wildcards.experiment, split) for split in ("valid", "test")}


def model_names(wildcards):
    """Every model the experiment produces, baselines first (textclf.registry)."""
    return registry.models(settings(wildcards.experiment))


def model_folders(wildcards):
    """The saved folder of every model of the experiment, in model_names' order."""
    experiment = wildcards.experiment
    return list(registry.model_folders(experiment, settings(experiment)).values())


def all_cores(wildcards):
    """Threads of the `speed` job: every core Snakemake may use here, so no other job runs
    beside it and its timings are its own (Slurm gives each job CPUs of its own: profiles/slurm
    sets the job's threads)."""
    return workflow.resource_settings.cores or 2


def comparison_inputs(wildcards):
    """Metrics JSON of every model of the experiment, keyed by model name, and the speed table."""
    experiment = wildcards.experiment
    models = registry.models(settings(experiment))
    return {model: layout.metrics(experiment, model) for model in models} | {
        "speed": layout.speed(experiment),
        "evaluated": evaluated_files(wildcards),
    }


def every_metrics(experiment):
    """(run, model) -> metrics JSON: every model of every seed (textclf.registry.runs)."""
    runs = registry.runs(experiment, settings(experiment)).values()
    return {(run, model): layout.metrics(run, model) for run, names in runs for model in names}


def evaluated(wildcards):
    """Seed -> model -> its metrics and predictions, every seed's (textclf.registry.evaluated)."""
    return registry.evaluated(wildcards.experiment, settings(wildcards.experiment))


def evaluated_files(wildcards):
    """Every file of `evaluated`, as a list."""
    return [
        f for models in evaluated(wildcards).values() for m in models.values() for f in m.values()
    ]


def significance_inputs(wildcards):
    """Every model's metrics and predictions, of every seed, and the prepared dataset."""
    return {
        "dataset": layout.dataset_json(wildcards.experiment),
        "evaluated": evaluated_files(wildcards),
    }


def ensemble_members(wildcards):
    """The folders of the averaged model (evaluation.ensemble) of every seed."""
    s = settings(wildcards.experiment)
    averaged = registry.ensembled(s)
    runs = layout.members(wildcards.experiment, s["seeds"]).values()
    return [registry.model_folder(run, averaged) for run in runs]


# --- figures ----------------------------------------------------------------------------------


def figure_files(experiment):
    """Every figure of the experiment (textclf.layout.figures); whether it is multi-label is
    known before `prepare` runs from the dataset's labels, and only chooses the figures."""
    multi_label = dataset_labels(settings(experiment))[0] == "multi_label"
    hard = setting(experiment, "hard_examples")
    return list(layout.figures(experiment, multi_label, hard).values())


def figure_inputs(wildcards):
    """The final model, its valid scores, the splits and every stage's training history."""
    experiment = wildcards.experiment
    folders = registry.model_folders(experiment, settings(experiment), registry.STAGE)
    return layout.figure_inputs(experiment, folders)


# --- track ------------------------------------------------------------------------------------


def tracking_failures(wildcards):
    """Failed attempts to track the experiment: a new count reruns track (the store was down)."""
    record = layout.tracking_record(wildcards.experiment)
    return layout.failed_attempts(layout.tracking_failures(record))


def tracked_models(wildcards):
    """Each model of each seed: its saved folder, metrics file, kind and seed."""
    experiment = wildcards.experiment
    return registry.tracked(experiment, settings(experiment))


def tracking_inputs(wildcards):
    """What `track` logs: the settings, every model's folder and metrics (every seed's), the
    paired tests, the figures and the search's trials."""
    experiment = wildcards.experiment
    models = tracked_models(wildcards).values()
    inputs = {
        "settings": layout.settings(experiment),
        "figures": figure_files(experiment),
        "models": [files[part] for files in models for part in ("folder", "metrics")],
        "significance": layout.significance(experiment),
    }
    if setting(experiment, "search.enabled"):
        inputs["trials"] = layout.search(experiment, "trials.tsv")
    return inputs
