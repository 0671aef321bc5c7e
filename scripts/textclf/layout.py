"""Where the workflow keeps an experiment's files: `results/<experiment>/...`.

The one place that spells these paths: the rules' inputs, outputs, logs and benchmarks (called
with wildcards, `split("{experiment}", "train")` is the rule's pattern), their input functions
(rules/common.smk), the stages' default paths for the command line (textclf.stages) and the
registry's model folders. tests/test_layout.py checks that no rule spells a path itself.
Standard library only: the Snakefile reads it where only Snakemake may be installed.
"""

from __future__ import annotations

from pathlib import Path

RESULTS = "results"
SPLITS = ("train", "valid", "test")
# Every figure the figure rules draw (keys of textclf.figures.DRAWERS), by the rule drawing it.
FIGURES = (
    "class_distribution",
    "training_curves",
    "confusion_matrix",
    "per_class",
    "frequency_vs_f1",
    "precision_recall",
    "threshold_analysis",
    "embedding_map",
)
MULTI_LABEL_FIGURES = ("labels_per_sample",)
HARD_EXAMPLES_FIGURE = "hardest_examples"
# The default tracking store (tracking.uri null): one SQLite file for every experiment.
TRACKING_STORE = f"sqlite:///{RESULTS}/mlflow.db"
SEARCH_REPORT = ("trials.tsv", "optimization_history.png", "param_importances.png")


def dataset_file(folder, split: str) -> str:
    """A split of a dataset folder as the user (or a download) puts it: `<folder>/<split>.tsv`."""
    return f"{folder}/{split}.tsv"


def dataset_files(folder, with_valid: bool) -> dict[str, str]:
    """The dataset folder's train and test (and valid, where it has one) that `prepare` reads."""
    return {name: dataset_file(folder, name) for name in SPLITS if with_valid or name != "valid"}


def downloaded(folder, spec: dict) -> dict[str, str]:
    """The splits a `download:` block writes into the dataset folder."""
    return {name: dataset_file(folder, name) for name in SPLITS if name in spec["files"]}


# The `{member}` wildcard: "" for the first seed's models, "/seeds/<seed>" for another seed's.
MEMBER = "(/seeds/[0-9]+)?"


def member(experiment: str, seed: int, first: bool) -> str:
    """Where one seed's models live, as an experiment name for the functions below: the
    experiment's own folder for the first seed, `<experiment>/seeds/<seed>` for the others."""
    return experiment if first else f"{experiment}/seeds/{seed}"


def members(experiment: str, seeds: list[int]) -> dict[int, str]:
    """Seed -> where its models live (`member`), the first seed first."""
    return {seed: member(experiment, seed, i == 0) for i, seed in enumerate(seeds)}


def member_seed(part: str) -> int | None:
    """The seed a `{member}` wildcard names ("/seeds/43": 43), None for the first seed's ("")."""
    return int(part.rsplit("/", 1)[1]) if part else None


def path(experiment: str, *parts: str) -> str:
    """`results/<experiment>/<parts>`."""
    return "/".join((RESULTS, experiment, *parts))


def split(experiment: str, name: str) -> str:
    """A prepared split (train, valid or test)."""
    return path(experiment, "data", f"{name}.tsv")


def dataset_json(experiment: str) -> str:
    """The prepared dataset's description: labels, problem type, sizes."""
    return path(experiment, "data", "dataset.json")


def prepared(experiment: str) -> dict[str, str]:
    """What `prepare` writes: the three splits and dataset.json."""
    return {name: split(experiment, name) for name in SPLITS} | {
        "dataset": dataset_json(experiment)
    }


def search(experiment: str, name: str = "") -> str:
    """The search's folder, or a file in it (study.json, journal.log, best.yaml, trials.tsv)."""
    return path(experiment, "search", name) if name else path(experiment, "search")


def search_worker(experiment: str, worker) -> str:
    """What one search worker did (its trials), `worker` a number or `{worker}`."""
    return path(experiment, "search", "workers", f"{worker}.json")


def search_report(experiment: str) -> list[str]:
    """The search's table and plots, written once the study is full."""
    return [search(experiment, name) for name in SEARCH_REPORT]


def augmented(experiment: str) -> str:
    return path(experiment, "augment", "augmented.tsv")


def augment_stats(experiment: str) -> str:
    return path(experiment, "augment", "stats.json")


def hard_examples(experiment: str) -> str:
    """The augmented rows stage 1 gets wrong or nearly so, their labels checked (`mine`)."""
    return path(experiment, "mine", "misclassified.tsv")


def mine_stats(experiment: str) -> str:
    """What `mine` considered, dropped by reason and kept, with examples of each."""
    return path(experiment, "mine", "stats.json")


def metrics(experiment: str, model: str) -> str:
    """A model's metrics on valid and test."""
    return path(experiment, "metrics", f"{model}.json")


def per_class(experiment: str, model: str) -> str:
    return path(experiment, "metrics", f"{model}_per_class.tsv")


def valid_probabilities(experiment: str, model: str) -> str:
    return path(experiment, "metrics", f"{model}_valid_probabilities.tsv")


def predictions(experiment: str, model: str) -> str:
    """A model's label (set) for every row of valid and labelled test, beside the gold one:
    what the paired tests of significance.tsv resample."""
    return path(experiment, "metrics", f"{model}_predictions.tsv")


def evaluated(run: str, model: str) -> dict[str, str]:
    """What `evaluate` wrote of a model that the paired tests read: metrics and predictions."""
    return {"metrics": metrics(run, model), "predictions": predictions(run, model)}


def significance(experiment: str) -> str:
    """Every comparison's difference, interval and paired tests."""
    return path(experiment, "significance.tsv")


def verdicts(experiment: str) -> str:
    """One sentence per comparison, the top of the report (written with significance.tsv)."""
    return path(experiment, "verdicts.rst")


def seeds_figure(experiment: str) -> str:
    """Every model's score per seed with its interval (drawn with significance.tsv)."""
    return figure(experiment, "scores_by_seed")


def speed(experiment: str) -> str:
    """Latency and throughput of every model, measured in one job."""
    return path(experiment, "metrics", "speed.tsv")


def comparison(experiment: str) -> str:
    return path(experiment, "comparison.tsv")


def prediction(experiment: str) -> str:
    return path(experiment, "prediction.csv")


def settings(experiment: str) -> str:
    """The record of the experiment's resolved settings."""
    return path(experiment, "settings.yaml")


def figures(experiment: str, multi_label: bool = False, hard: bool = False) -> dict[str, str]:
    """Figure name -> file: every figure the experiment's figure rules draw."""
    names = FIGURES + (MULTI_LABEL_FIGURES if multi_label else ())
    names += (HARD_EXAMPLES_FIGURE,) if hard else ()
    return {name: figure(experiment, name) for name in names}


def figure_inputs(experiment: str, stage_folders: dict[str, str]) -> dict:
    """What the figure rules read: the splits, every training stage's folder (its history)
    and the last stage's model, metrics and valid scores."""
    final, folder = list(stage_folders.items())[-1]
    return prepared(experiment) | {
        "model": folder,
        "metrics": metrics(experiment, final),
        "probabilities": valid_probabilities(experiment, final),
        "checkpoints": list(stage_folders.values()),
    }


def tracking_record(experiment: str) -> str:
    """What `track` logged where (runs, store, status)."""
    return path(experiment, "tracking.json")


def tracking_failures(record) -> str:
    """The count of failed tracking attempts beside a tracking record (`tracking.failures`):
    no rule's output, so it survives a rerun."""
    return str(Path(record).with_suffix(".failures"))


def failed_attempts(failures_file) -> int:
    """How often tracking of an experiment has failed (its tracking_failures file)."""
    file = Path(failures_file)
    return int(file.read_text().strip() or 0) if file.exists() else 0


def push_record(experiment: str) -> str:
    """Where `push` uploaded the final model."""
    return path(experiment, "push.json")


def log(experiment: str, name: str) -> str:
    """A job's log (`name` is the rule's, with its wildcards)."""
    return path(experiment, "logs", f"{name}.log")


def benchmark(experiment: str, name: str) -> str:
    """A job's time and memory, as Snakemake's `benchmark:` writes them."""
    return path(experiment, "benchmarks", f"{name}.tsv")


def figure(experiment: str, name: str) -> str:
    """One figure's file (the hardest examples are a page, the others pictures)."""
    suffix = "html" if name == HARD_EXAMPLES_FIGURE else "png"
    return path(experiment, "figures", f"{name}.{suffix}")


def default_prediction() -> str:
    """The default experiment's predictions, copied to the top of results/."""
    return f"{RESULTS}/prediction.csv"


def workflow_file(folder: str, name: str) -> str:
    """A log or benchmark of a job that belongs to no experiment (`folder`: logs, benchmarks)."""
    return f"{RESULTS}/{folder}/{name}"
