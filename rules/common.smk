import os
import sys

sys.path.insert(0, os.path.join(workflow.basedir, "scripts"))

from textclf import layout, registry
from textclf.config import (
    SettingsError,
    baseline_params,
    card_params,
    check,
    dataset_labels,
    finetune_params,
    training_params,
)

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


def settings(experiment):
    """The experiment's resolved settings (textclf.config.experiment_settings)."""
    return SETTINGS[experiment]


def resolved_settings(wildcards):
    return settings(wildcards.experiment)


def dataset_files(wildcards):
    """train.tsv and test.tsv of the experiment's dataset, and valid.tsv where it has one or
    its download makes one (without it, prepare holds out a stratified share of train)."""
    s = settings(wildcards.experiment)
    folder = s["dataset"]
    downloaded = layout.downloaded(folder, s["download"]) if s.get("download") else {}
    valid = os.path.exists(layout.dataset_file(folder, "valid")) or "valid" in downloaded
    return layout.dataset_files(folder, valid)


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


def stages(experiment):
    """The models of the method an experiment trains, in order: stage 1, and stage 2 unless
    hard_examples is off."""
    return registry.models(settings(experiment), registry.STAGE)


def final_checkpoint(wildcards):
    final = registry.final_stage(settings(wildcards.experiment))
    return registry.model_folder(wildcards.experiment, final)


def compressed_source(wildcards):
    """The folder a compressed model is made from: the final stage's, or the compressed model
    its kind names as source (distilled-onnx-int8: the distilled model)."""
    experiment = wildcards.experiment
    source = registry.source(settings(experiment), wildcards.model)
    return registry.model_folder(experiment, source)


def predicting_model(wildcards):
    """The folder of the model that writes prediction.csv (predict.model; final: the last stage)."""
    chosen = registry.predicting(settings(wildcards.experiment))
    return registry.model_folder(wildcards.experiment, chosen)


def is_multi_label(experiment):
    """Whether the experiment is multi-label as far as it is known before `prepare` runs; it
    only chooses which figures to draw."""
    return dataset_labels(settings(experiment))[0] == "multi_label"


def figure_files(experiment):
    """Every figure of the experiment (textclf.layout.figures)."""
    hard = settings(experiment)["hard_examples"]
    return list(layout.figures(experiment, is_multi_label(experiment), hard).values())


def figure_inputs(wildcards):
    """The final model, its valid scores, the splits and every stage's training history."""
    experiment = wildcards.experiment
    folders = registry.model_folders(experiment, settings(experiment), registry.STAGE)
    return layout.figure_inputs(experiment, folders)


def final_metrics(wildcards):
    return layout.metrics(wildcards.experiment, stages(wildcards.experiment)[-1])


def experiment_outputs(experiment):
    """What an experiment results in: predictions, every model's metrics, the comparison,
    the figures, the search's table and plots when it searches, and the record of its
    settings (ancient: rewriting it reruns nothing)."""
    return (
        [layout.prediction(experiment)]
        + [layout.metrics(experiment, model) for model in models(experiment)]
        + [layout.comparison(experiment)]
        + figure_files(experiment)
        + search_files(experiment)
        + [ancient(layout.settings(experiment))]
        + tracking_record(experiment)
    )


def tracking_record(experiment):
    if not settings(experiment)["tracking"]["enabled"]:
        return []
    return [ancient(layout.tracking_record(experiment))]


def tracking_uri(wildcards):
    """The MLflow store: tracking.uri, or the SQLite file results/mlflow.db."""
    return settings(wildcards.experiment)["tracking"]["uri"] or layout.TRACKING_STORE


def tracking_failures(wildcards):
    """Failed attempts to track the experiment: a new count reruns track (the store was down)."""
    record = layout.tracking_record(wildcards.experiment)
    return layout.failed_attempts(layout.tracking_failures(record))


def tracked_models(wildcards):
    """Each model of the experiment: its saved folder and its metrics file."""
    experiment = wildcards.experiment
    return layout.tracked(experiment, registry.model_folders(experiment, settings(experiment)))


def tracking_inputs(wildcards):
    """What `track` logs: the settings, every model's folder and metrics, the figures and the
    search's trials."""
    experiment = wildcards.experiment
    inputs = {
        "settings": layout.settings(experiment),
        "figures": figure_files(experiment),
    }
    for model, files in tracked_models(wildcards).items():
        inputs[f"{model}_folder"], inputs[f"{model}_metrics"] = files["folder"], files["metrics"]
    if settings(experiment)["search"]["enabled"]:
        inputs["trials"] = layout.search(experiment, "trials.tsv")
    return inputs


def final_model(wildcards):
    return registry.final_stage(settings(wildcards.experiment))


def search_files(experiment):
    if not settings(experiment)["search"]["enabled"]:
        return []
    return layout.search_report(experiment)


def search_journal(wildcards):
    """The Optuna journal file of the experiment's study (used when search.storage is null)."""
    return layout.search(wildcards.experiment, "journal.log")


def search_workers(wildcards):
    count = settings(wildcards.experiment)["search"]["workers"]
    return [layout.search_worker(wildcards.experiment, i) for i in range(count)]


def searched_settings(wildcards):
    """Stage 1's input best.yaml when the experiment searches its settings."""
    if not settings(wildcards.experiment)["search"]["enabled"]:
        return {}
    return {"best": layout.search(wildcards.experiment, "best.yaml")}


def training_settings(wildcards):
    return training_params(settings(wildcards.experiment))


def finetune_settings(wildcards):
    return finetune_params(settings(wildcards.experiment))


def model_dir(wildcards):
    """The saved folder of a model of any registered kind."""
    return registry.model_folder(wildcards.experiment, wildcards.model)


def models(experiment):
    """Every model an experiment produces, baselines first (textclf.registry)."""
    return registry.models(settings(experiment))


def comparison_inputs(wildcards):
    """Metrics JSON of every model of the experiment, keyed by model name, and the speed table."""
    return {
        model: layout.metrics(wildcards.experiment, model) for model in models(wildcards.experiment)
    } | {"speed": layout.speed(wildcards.experiment)}


def all_cores(wildcards):
    """Threads of the `speed` job: every core Snakemake may use here, so no other job runs
    beside it and its timings are its own (Slurm gives each job CPUs of its own: profiles/slurm
    sets the job's threads)."""
    return workflow.resource_settings.cores or 2


def worker_threads(wildcards):
    """Threads of one search worker: the local cores shared by the workers, which run at once
    (on a cluster each worker is a job with CPUs of its own: profiles/slurm sets them)."""
    workers = settings(wildcards.experiment)["search"]["workers"]
    return max(1, (workflow.resource_settings.cores or 2) // workers)


def model_names(wildcards):
    return models(wildcards.experiment)


def model_folders(wildcards):
    """The saved folder of every model of the experiment, in model_names' order."""
    experiment = wildcards.experiment
    return list(registry.model_folders(experiment, settings(experiment)).values())


def baseline_settings(wildcards):
    return baseline_params(settings(wildcards.experiment), wildcards.baseline)


def card_settings(wildcards):
    """What the model card says beyond what training knows: name, dataset, license, tags."""
    return card_params(settings(wildcards.experiment), wildcards.experiment)


def selection_metric(wildcards):
    return settings(wildcards.experiment)["train"]["metric"]


def labelled_splits(wildcards):
    return {split: layout.split(wildcards.experiment, split) for split in ("valid", "test")}


def section(name):
    """Params function: one config section of the experiment (so only that section's changes
    make a rule stale)."""

    def lookup(wildcards):
        return settings(wildcards.experiment)[name]

    return lookup


def compress_settings(name):
    """Params function: one part of the experiment's compress section."""

    def lookup(wildcards):
        return settings(wildcards.experiment)["compress"][name]

    return lookup


def model_name(wildcards):
    return settings(wildcards.experiment)["model"]["name"]


def max_length(wildcards):
    return settings(wildcards.experiment)["model"]["max_length"]


def positive_label(wildcards):
    return settings(wildcards.experiment)["positive_label"]


def original_per_hard(wildcards):
    return settings(wildcards.experiment)["finetune"]["original_per_hard"]
