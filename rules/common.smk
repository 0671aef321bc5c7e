import os
import sys

sys.path.insert(0, os.path.join(workflow.basedir, "scripts"))

from textclf import registry
from textclf.config import SettingsError, check, dataset_labels

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
    files = {split: f"{folder}/{split}.tsv" for split in ("train", "test")}
    downloaded = download_splits(s["download"]) if s.get("download") else []
    if os.path.exists(f"{folder}/valid.tsv") or "valid" in downloaded:
        files["valid"] = f"{folder}/valid.tsv"
    return files


def download_splits(spec):
    return [split for split in ("train", "valid", "test") if split in spec["files"]]


def downloads():
    """Dataset folder -> download spec (with the first experiment that names it), for the
    folders that lack train.tsv: a local copy is never touched, so a forced or failed
    download can never overwrite or delete it."""
    found = {}
    for name in config["experiments"]:
        s = settings(name)
        missing = not os.path.exists(f"{s['dataset']}/train.tsv")
        if s.get("download") and missing and s["dataset"] not in found:
            found[s["dataset"]] = {**s["download"], "experiment": name}
    return found


def stages(experiment):
    """The models of the method an experiment trains, in order: stage 1, and stage 2 unless
    hard_examples is off."""
    return registry.models(settings(experiment), registry.STAGE)


def final_checkpoint(wildcards):
    return registry.model_folder(wildcards.experiment, stages(wildcards.experiment)[-1])


def is_multi_label(experiment):
    """Whether the experiment is multi-label as far as it is known before `prepare` runs; it
    only chooses which figures to draw."""
    return dataset_labels(settings(experiment))[0] == "multi_label"


def figure_files(experiment):
    out = f"results/{experiment}/figures"
    files = [f"{out}/class_distribution.png"]
    if is_multi_label(experiment):
        files.append(f"{out}/labels_per_sample.png")
    if settings(experiment)["hard_examples"]:
        files.append(f"{out}/hardest_examples.html")
    return files


def split_inputs(wildcards):
    """The prepared splits and dataset.json of the experiment."""
    out = f"results/{wildcards.experiment}/data"
    return {
        "dataset": f"{out}/dataset.json",
        **{split: f"{out}/{split}.tsv" for split in ("train", "valid", "test")},
    }


def figure_inputs(wildcards):
    """The final model, its valid scores, the splits and every stage's training history."""
    experiment = wildcards.experiment
    final = stages(experiment)[-1]
    out = f"results/{experiment}"
    return {
        **split_inputs(wildcards),
        "model": registry.model_folder(experiment, final),
        "metrics": f"{out}/metrics/{final}.json",
        "probabilities": f"{out}/metrics/{final}_valid_probabilities.tsv",
        "checkpoints": [registry.model_folder(experiment, stage) for stage in stages(experiment)],
    }


def final_metrics(wildcards):
    return f"results/{wildcards.experiment}/metrics/{stages(wildcards.experiment)[-1]}.json"


def experiment_outputs(experiment):
    """What an experiment results in: predictions, every model's metrics, the comparison,
    the figures, and the record of its settings (ancient: rewriting it reruns nothing)."""
    return (
        [f"results/{experiment}/prediction.csv"]
        + [f"results/{experiment}/metrics/{model}.json" for model in models(experiment)]
        + [f"results/{experiment}/comparison.tsv"]
        + figure_files(experiment)
        + [ancient(f"results/{experiment}/settings.yaml")]
    )


def training_settings(wildcards):
    s = settings(wildcards.experiment)
    return {
        **s["train"],
        "max_length": s["model"]["max_length"],
        "positive_label": s["positive_label"],
    }


def finetune_settings(wildcards):
    s = settings(wildcards.experiment)
    overrides = {k: v for k, v in s["finetune"].items() if k != "original_per_hard"}
    return {**training_settings(wildcards), **overrides}


def model_dir(wildcards):
    """The saved folder of a model of any registered kind."""
    return registry.model_folder(wildcards.experiment, wildcards.model)


def models(experiment):
    """Every model an experiment produces, baselines first (textclf.registry)."""
    return registry.models(settings(experiment))


def comparison_inputs(wildcards):
    """Metrics JSON of every model of the experiment, keyed by model name."""
    return {
        model: f"results/{wildcards.experiment}/metrics/{model}.json"
        for model in models(wildcards.experiment)
    }


def baseline_settings(wildcards):
    s = settings(wildcards.experiment)
    return {**s["baselines"][wildcards.baseline], "seed": s["train"]["seed"]}


def card_settings(wildcards):
    """What the model card says beyond what training knows: name, dataset, license, tags."""
    s = settings(wildcards.experiment)
    return {
        "name": wildcards.experiment,
        "dataset": os.path.basename(os.path.normpath(s["dataset"])),
        **s["model"]["card"],
    }


def selection_metric(wildcards):
    return settings(wildcards.experiment)["train"]["metric"]


def labelled_splits(wildcards):
    return {
        split: f"results/{wildcards.experiment}/data/{split}.tsv" for split in ("valid", "test")
    }


def section(name):
    """Params function: one config section of the experiment (so only that section's changes
    make a rule stale)."""

    def lookup(wildcards):
        return settings(wildcards.experiment)[name]

    return lookup


def model_name(wildcards):
    return settings(wildcards.experiment)["model"]["name"]


def max_length(wildcards):
    return settings(wildcards.experiment)["model"]["max_length"]


def positive_label(wildcards):
    return settings(wildcards.experiment)["positive_label"]


def original_per_hard(wildcards):
    return settings(wildcards.experiment)["finetune"]["original_per_hard"]
