import copy

from snakemake.utils import validate


validate(config, schema="../schemas/config.schema.yaml")

DEFAULT = config["default_experiment"]
STAGES = ["stage1", "finetuned"]
SECTIONS = ["columns", "model", "train", "llm", "augment", "finetune"]

if DEFAULT not in config["experiments"]:
    raise ValueError(f"config.yaml: default_experiment {DEFAULT!r} is not under experiments")


wildcard_constraints:
    experiment="[A-Za-z0-9_-]+",
    split="train|valid|test",
    stage="stage1|finetuned",


def settings(experiment):
    """The top-level sections with the experiment's own overrides merged in."""
    merged = {name: copy.deepcopy(config.get(name, {})) for name in SECTIONS}
    for key, value in config["experiments"][experiment].items():
        if isinstance(value, dict) and key in merged:
            merged[key].update(value)
        else:
            merged[key] = value
    return merged


def dataset_file(split):
    def path(wildcards):
        return f"{settings(wildcards.experiment)['dataset']}/{split}.tsv"

    return path


def training_settings(wildcards):
    s = settings(wildcards.experiment)
    return {**s["train"], "max_length": s["model"]["max_length"], "positive_label": s.get("positive_label")}


def finetune_settings(wildcards):
    s = settings(wildcards.experiment)
    overrides = {k: v for k, v in s["finetune"].items() if k != "original_per_hard"}
    return {**training_settings(wildcards), **overrides}


def checkpoint_dir(wildcards):
    return f"results/{wildcards.experiment}/checkpoints/{wildcards.stage}"


def labelled_splits(wildcards):
    return {split: f"results/{wildcards.experiment}/data/{split}.tsv" for split in ("valid", "test")}


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
    return settings(wildcards.experiment).get("positive_label")


def original_per_hard(wildcards):
    return settings(wildcards.experiment)["finetune"]["original_per_hard"]
