import copy
import os

from snakemake.utils import validate


validate(config, schema="../schemas/config.schema.yaml")

DEFAULT = config["default_experiment"]
SECTIONS = [
    "data", "columns", "model", "train", "llm", "augment", "finetune", "baselines", "push",
]  # fmt: skip

if DEFAULT not in config["experiments"]:
    raise ValueError(f"config.yaml: default_experiment {DEFAULT!r} is not under experiments")


wildcard_constraints:
    experiment="[A-Za-z0-9_-]+",
    split="train|valid|test",
    stage="stage1|finetuned",
    model="stage1|finetuned|scratch|tfidf",
    baseline="scratch|tfidf",


def settings(experiment):
    """The top-level sections with the experiment's own overrides merged in."""
    merged = {name: copy.deepcopy(config.get(name, {})) for name in SECTIONS}
    merged["hard_examples"] = config.get("hard_examples", True)
    for key, value in config["experiments"][experiment].items():
        if isinstance(value, dict) and key in merged:
            merged[key].update(value)
        else:
            merged[key] = value
    merged["dataset"] = merged["dataset"].format(datasets_root=config.get("datasets_root", ""))
    return merged


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
    """The models an experiment trains: stage 1, and stage 2 unless hard_examples is off."""
    return ["stage1", "finetuned"] if settings(experiment)["hard_examples"] else ["stage1"]


def final_checkpoint(wildcards):
    return f"results/{wildcards.experiment}/checkpoints/{stages(wildcards.experiment)[-1]}"


def is_multi_label(experiment):
    """The problem type as far as it can be known before `prepare` runs: the configured one,
    or, for `auto`, whether a label field of train.tsv holds the separator (prepare decides
    the same way as labels.infer_problem_type; not imported, since the Snakefile runs where
    only Snakemake is installed and the library's needs live in the rules' envs). It only
    chooses which figures to draw."""
    s = settings(experiment)
    if s["data"]["problem_type"] != "auto":
        return s["data"]["problem_type"] == "multi_label"
    path = f"{s['dataset']}/train.tsv"
    if not os.path.exists(path):
        return False
    with open(path, encoding="utf-8", errors="replace") as lines:
        column = next(lines).rstrip("\r\n").split("\t").index(s["columns"]["label"])
        return any(s["data"]["label_separator"] in line.split("\t")[column] for line in lines)


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
        "model": f"{out}/checkpoints/{final}",
        "metrics": f"{out}/metrics/{final}.json",
        "probabilities": f"{out}/metrics/{final}_valid_probabilities.tsv",
        "checkpoints": [f"{out}/checkpoints/{stage}" for stage in stages(experiment)],
    }


def final_metrics(wildcards):
    return f"results/{wildcards.experiment}/metrics/{stages(wildcards.experiment)[-1]}.json"


def experiment_outputs(experiment):
    """What an experiment results in: predictions, every model's metrics, the comparison,
    the figures."""
    return (
        [f"results/{experiment}/prediction.csv"]
        + [f"results/{experiment}/metrics/{model}.json" for model in models(experiment)]
        + [f"results/{experiment}/comparison.tsv"]
        + figure_files(experiment)
    )


def training_settings(wildcards):
    s = settings(wildcards.experiment)
    return {**s["train"], "max_length": s["model"]["max_length"], "positive_label": s.get("positive_label")}


def finetune_settings(wildcards):
    s = settings(wildcards.experiment)
    overrides = {k: v for k, v in s["finetune"].items() if k != "original_per_hard"}
    return {**training_settings(wildcards), **overrides}


def model_dir(wildcards):
    """The saved folder of a model: a transformer checkpoint or a baseline."""
    kind = "baselines" if wildcards.model in ("scratch", "tfidf") else "checkpoints"
    return f"results/{wildcards.experiment}/{kind}/{wildcards.model}"


def models(experiment):
    """Every model an experiment produces, baselines first."""
    return settings(experiment)["baselines"]["models"] + stages(experiment)


def comparison_inputs(wildcards):
    """Metrics JSON of every model of the experiment, keyed by model name."""
    return {
        model: f"results/{wildcards.experiment}/metrics/{model}.json"
        for model in models(wildcards.experiment)
    }


def baseline_settings(wildcards):
    s = settings(wildcards.experiment)
    return {**s["baselines"].get(wildcards.baseline, {}), "seed": s["train"]["seed"]}


def card_settings(wildcards):
    """What the model card says beyond what training knows: name, dataset, license, tags."""
    s = settings(wildcards.experiment)
    return {
        "name": wildcards.experiment,
        "dataset": os.path.basename(os.path.normpath(s["dataset"])),
        **s["model"].get("card", {}),
    }


def selection_metric(wildcards):
    return settings(wildcards.experiment)["train"]["metric"]


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
