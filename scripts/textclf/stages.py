"""The stages: one entry point per stage, which both its rule script and its command
(`python -m textclf <stage>`) call, and nothing else.

Every entry point takes the same three things: `settings`, the part of the experiment's
resolved settings the stage reads (`STAGES[name].settings` projects it; the rule passes it as
its one `settings` param, so only a change to that part makes the rule stale), `paths`, the
stage's files by name (the rule's named inputs, outputs and logs; the command's defaults are
`STAGES[name].paths`, every one spelt by textclf.layout), and `threads`. Whatever else a stage
decides - which rule makes a compressed kind, the inputs a figure needs, whether a search
summarises - it decides here, so the command line and the rules never work it out twice.
An input that is missing stops the stage with one line naming it and the stage that makes it
(MissingInput), before any work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from textclf import layout, registry
from textclf.config import (
    STAGE2_ONLY,
    baseline_params,
    card_params,
    finetune_params,
    training_params,
)

Paths = Mapping[str, object]


class MissingInput(FileNotFoundError):
    """An input of a stage is not there: one line naming it and what makes it."""


def _need(paths: Paths, *names: str, made_by: str) -> None:
    missing = [str(p) for name in names for p in _files(paths.get(name)) if not Path(p).exists()]
    if missing:
        raise MissingInput(f"{', '.join(missing)}: missing; run {made_by} first (or snakemake)")


def _files(value) -> list:
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [p for v in value.values() for p in _files(v)]
    if isinstance(value, (list, tuple)):
        return [p for v in value for p in _files(v)]
    return [value]


def _parent(path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)


# --- the entry points -----------------------------------------------------------------------


def settings(settings: dict, paths: Paths, threads: int = 1) -> None:
    """Write the experiment's resolved settings (settings.yaml, a record track logs)."""
    from textclf.config import write_settings

    write_settings(settings, paths["settings"])


def download(settings: dict, paths: Paths, threads: int = 1) -> None:
    """Fetch, check and convert the dataset of an experiment with a download: section."""
    from textclf.download import download_dataset

    if not settings:
        raise MissingInput("the experiment's settings have no download: section")
    outputs = {name: str(path) for name, path in paths.items() if name in layout.SPLITS}
    if any(Path(path).exists() for path in outputs.values()):  # a local copy is never touched
        folder = Path(next(iter(outputs.values()))).parent
        raise MissingInput(
            f"{folder}: holds the dataset already, never overwritten (give --out-dir)"
        )
    for path in outputs.values():
        _parent(path)
    download_dataset(spec=settings, outputs=outputs)


def prepare(settings: dict, paths: Paths, threads: int = 1) -> None:
    """Check the dataset's TSVs and write the canonical splits and dataset.json."""
    from textclf.prepare import prepare as prepare_splits

    inputs = {name: paths.get(name) for name in ("source_train", "source_valid", "source_test")}
    inputs = {name.removeprefix("source_"): p for name, p in inputs.items() if p is not None}
    outputs = {name: paths[name] for name in (*layout.SPLITS, "dataset")}
    _need(inputs, *inputs, made_by="download (or put the dataset's TSVs there)")
    _parent(outputs["dataset"])
    prepare_splits(
        inputs=inputs,
        outputs=outputs,
        text_column=settings["columns"]["text"],
        label_column=settings["columns"]["label"],
        data=settings["data"],
    )


def train(
    settings: dict, paths: Paths, threads: int = 1, processes: int = 1, log_file=None
) -> None:
    """Stage 1: fine-tune the encoder (progressive unfreezing, early stopping)."""
    from textclf.distributed import launch
    from textclf.finetuning import run_stage1

    _need(paths, "train", "valid", "dataset", made_by="prepare")
    _need(paths, "best", made_by="search")
    launch(
        run_stage1,
        dict(
            model_name=settings["model"],
            train_tsv=paths["train"],
            valid_tsv=paths["valid"],
            dataset_json=paths["dataset"],
            settings=settings["training"],
            out_dir=paths["checkpoint"],
            threads=threads,
            card=settings["card"],
            best_yaml=paths.get("best"),
        ),
        processes,
        log_file,
    )


def search(
    settings: dict,
    paths: Paths,
    threads: int = 1,
    worker: int = 0,
    steps: tuple[str, ...] = ("study", "worker", "best"),
    experiment: str = "",
) -> None:
    """Hyperparameter search: create or join the study, run trials as one worker until it
    holds search.trials, then write best.yaml (run several at once with --worker 0, 1, ...).
    The workflow runs the steps as jobs of their own: one study, search.workers workers, best."""
    from textclf import search as searching

    _need(paths, "train", "dataset", made_by="prepare")
    common = dict(search=settings["search"], training=settings["training"])
    finished = None
    if "study" in steps:
        _parent(paths["study"])
        searching.create_study(
            experiment,
            paths["train"],
            **common,
            model_name=settings["model"],
            out_json=paths["study"],
            journal=paths["journal"],
        )
    if "worker" in steps:
        _parent(paths["worker"])
        finished = searching.run_worker(
            worker=worker,
            study_json=paths["study"],
            train_tsv=paths["train"],
            dataset_json=paths["dataset"],
            **common,
            model_name=settings["model"],
            out_json=paths["worker"],
            journal=paths["journal"],
            threads=threads,
        )
    if "best" in steps and (finished is None or finished >= settings["search"]["trials"]):
        _parent(paths["best"])
        searching.summarise(
            paths["study"],
            settings["search"],
            paths["journal"],
            paths["best"],
            paths["trials"],
            paths["history"],
            paths["importances"],
        )


def augment(settings: dict, paths: Paths, threads: int = 1) -> None:
    """Ask the LLM to rewrite each training row."""
    from textclf.augment import run_augment

    _need(paths, "train", made_by="prepare")
    _parent(paths["server"])
    run_augment(
        train_tsv=paths["train"],
        llm=settings["llm"],
        augment=settings["augment"],
        out_tsv=paths["augmented"],
        stats_json=paths["stats"],
        threads=threads,
        server_log=str(paths["server"]),
    )


def mine(settings: dict, paths: Paths, threads: int = 1) -> None:
    """Keep the rewrites stage 1 gets wrong (or nearly so) whose inherited label holds."""
    from textclf.mining import run_mine

    _need(paths, "checkpoint", made_by="train")
    _need(paths, "augmented", made_by="augment")
    _need(paths, "train", made_by="prepare")
    run_mine(
        stage1_dir=paths["checkpoint"],
        augmented_tsv=paths["augmented"],
        train_tsv=paths["train"],
        out_tsv=paths["hard"],
        stats_json=paths["stats"],
        mine=settings["mine"],
        llm=settings["llm"],
        max_length=settings["max_length"],
        threads=threads,
        server_log=paths.get("server"),
    )


def finetune(
    settings: dict, paths: Paths, threads: int = 1, processes: int = 1, log_file=None
) -> None:
    """Stage 2: continue from stage 1 on the hard rows mixed with original rows."""
    from textclf.distributed import launch
    from textclf.finetuning import run_stage2

    _need(paths, "stage1", made_by="train")
    _need(paths, "hard", made_by="mine")
    launch(
        run_stage2,
        dict(
            stage1_dir=paths["stage1"],
            train_tsv=paths["train"],
            hard_tsv=paths["hard"],
            valid_tsv=paths["valid"],
            settings=settings["training"],
            original_per_hard=settings["original_per_hard"],
            out_dir=paths["checkpoint"],
            threads=threads,
            card=settings["card"],
            recipe=settings["recipe"],
            hard_weight=settings["hard_weight"],
        ),
        processes,
        log_file,
    )


def baseline(settings: dict, paths: Paths, threads: int = 1, kind: str = "tfidf") -> None:
    """Train a baseline (--kind scratch or tfidf)."""
    from textclf.baselines import run_baseline

    _need(paths, "train", "valid", "dataset", made_by="prepare")
    run_baseline(
        kind=kind,
        train_tsv=paths["train"],
        valid_tsv=paths["valid"],
        dataset_json=paths["dataset"],
        settings=settings["baseline"],
        out_dir=paths["model"],
        metric=settings["metric"],
        threads=threads,
    )


def compress(settings: dict, paths: Paths, threads: int = 1, kind: str = "onnx") -> None:
    """A compressed copy of a model (--kind: onnx, onnx-int8, pruned, distilled,
    pruned-onnx-int8 or distilled-onnx-int8): ONNX export and int8 quantization, structured
    pruning or distillation, as the kind's registry entry says."""
    from textclf.tsv import read_tsv

    made = registry.KINDS[kind].made_by
    source = registry.KINDS[kind].source
    _need(paths, "source", made_by=f"compress --kind {source}" if source else "the stages")
    valid_rows = read_tsv(paths["valid"])
    if made == "compress_{name}":
        from textclf.compression import run_compress_onnx

        run_compress_onnx(
            kind=kind,
            model_dir=paths["source"],
            valid_rows=valid_rows,
            settings=settings["training"],
            out_dir=paths["model"],
            threads=threads,
            max_length=settings["max_length"],
        )
        return
    if made == "prune":
        from textclf.pruning import run_prune as make
    else:
        from textclf.distillation import run_distill as make
    make(
        model_dir=paths["source"],
        train_rows=read_tsv(paths["train"]),
        valid_rows=valid_rows,
        settings=settings["training"],
        out_dir=paths["model"],
        threads=threads,
        **{f"{made}_settings": settings[made]},
    )


def ensemble(settings: dict, paths: Paths, threads: int = 1) -> None:
    """The ensemble of the seeds: the mean of one model's probabilities over its seeds
    (evaluation.ensemble; a folder naming its members)."""
    from textclf.ensemble import make_ensemble

    _need(paths, "members", made_by="the stages, once per seed")
    make_ensemble(list(paths["members"]), paths["model"])


def significance(settings: dict, paths: Paths, threads: int = 1) -> None:
    """Paired tests of every comparison (stage 2 vs stage 1, stage 1 vs each baseline, each
    compressed model vs its source, the ensemble vs the model it averages) on valid and
    labelled test: significance.tsv, the report's verdict sentences, and every model's score
    per seed with its interval (a figure)."""
    from textclf import evidence
    from textclf.figures import scores_by_seed
    from textclf.labels import LabelSpace
    from textclf.metrics import selection_metric
    from textclf.tsv import write_text

    _need(paths, "dataset", made_by="prepare")
    _need(paths, "evaluated", made_by="evaluate")
    space = LabelSpace.read(paths["dataset"])
    evaluation = settings["evaluation"]
    table = evidence.significance_table(
        paths["evaluated"],
        settings["comparisons"],
        space,
        settings["metric"],
        evaluation,
        settings["positive_label"],
    )
    evidence.write_significance(table, paths["table"], evaluation["confidence"])
    sentences = evidence.sentences(table, evaluation["confidence"])
    write_text(
        "".join(f"- {line}\n" for line in sentences) or "- nothing to compare\n", paths["verdicts"]
    )
    metric = selection_metric(settings["metric"], space)
    scores_by_seed(evidence.scores_by_seed(paths["evaluated"], metric), metric, paths["figure"])


def evaluate(settings: dict, paths: Paths, threads: int = 1) -> None:
    """Metrics of a model on valid and (where labelled) test, each with its bootstrap
    interval, and every row's predicted label for the paired tests."""
    from textclf.inference import run_evaluate

    _need(paths, "model", made_by="the stage that makes the model")
    _need(paths, "valid", "test", made_by="prepare")
    run_evaluate(
        model_dir=paths["model"],
        split_tsvs={"valid": paths["valid"], "test": paths["test"]},
        out_json=paths["metrics"],
        out_per_class=paths["per_class"],
        out_probabilities=paths["probabilities"],
        positive_label=settings["positive_label"],
        max_length=settings["max_length"],
        threads=threads,
        evaluation=settings["evaluation"],
        out_predictions=paths["predictions"],
    )


def predict(settings: dict, paths: Paths, threads: int = 1) -> None:
    """Label test.tsv: prediction.csv (id,label; with predict.scores, id,label,score)."""
    from textclf.inference import run_predict

    _need(paths, "model", made_by="the stage that makes the model")
    _need(paths, "test", made_by="prepare")
    run_predict(
        model_dir=paths["model"],
        test_tsv=paths["test"],
        out_csv=paths["prediction"],
        max_length=settings["max_length"],
        threads=threads,
        scores=settings["scores"],
    )


def label(
    model, texts=None, source=None, out=None, fmt=None, top_k=1, batch_size=64, threads=1
) -> None:
    """Label texts like pipeline(), with no configuration: `texts` (a list), else the file
    `source` ("-" or None: standard input), by the model folder `model`."""
    import pandas as pd

    from textclf.inference import read_texts, run_label

    table = pd.DataFrame({"text": texts}) if texts else read_texts(source or "-")
    run_label(model, table, out, fmt, top_k, batch_size, threads)


def speed(settings: dict, paths: Paths, threads: int = 1) -> None:
    """Latency and throughput of models, one after another in one process."""
    from textclf.speed import run_speed

    _need(paths, "models", made_by="the stages that make the models")
    run_speed(
        model_dirs=dict(paths["models"]),
        valid_tsv=paths["valid"],
        out_tsv=paths["speed"],
        threads=threads,
        max_length=settings["max_length"],
    )


def comparison(settings: dict, paths: Paths, threads: int = 1) -> None:
    """Every model of the experiment side by side on valid (comparison.tsv)."""
    from textclf.comparison import write_comparison

    _need(paths, "metrics", "evaluated", made_by="evaluate")
    _need(paths, "speed", made_by="speed")
    write_comparison(dict(paths["metrics"]), paths["speed"], paths["table"], paths.get("evaluated"))


def figures(settings: dict, paths: Paths, threads: int = 1) -> None:
    """Every figure of the experiment (the figure rules' own, hardest examples included):
    the figures `paths` names, drawn from the other files it names."""
    from textclf.figures import draw

    names = {*layout.FIGURES, *layout.MULTI_LABEL_FIGURES, layout.HARD_EXAMPLES_FIGURE}
    outputs = {name: path for name, path in paths.items() if name in names}
    inputs = {name: path for name, path in paths.items() if name not in names}
    _need(inputs, *inputs, made_by="the stages (mine included) and evaluate")
    _parent(next(iter(outputs.values())))
    draw(inputs, outputs, threads, settings["max_length"])


def track(
    settings: dict, paths: Paths, threads: int = 1, experiment: str = "", expected=None
) -> None:
    """Log every model of every seed of the experiment (each run with its seed), its paired
    tests and its search's trials to the tracking store. `expected`: the settings record the
    configuration gives, which paths["settings"] must hold
    (tracking reads the record; the workflow keeps it current, a command given other --config
    files may not)."""
    from textclf.tracking import track as log_runs

    saved = [(files["folder"], files["metrics"]) for files in paths["models"].values()]
    _need(paths, "settings", made_by="settings")
    _need({"models": saved}, "models", made_by="the stages and evaluate")
    _need(paths, "trials", made_by="search")
    _need(paths, "figures", made_by="figures")
    _need(paths, "significance", made_by="significance")
    if expected is not None and Path(paths["settings"]).read_text() != expected:
        raise MissingInput(
            f"{paths['settings']}: records other settings than the configuration gives; run "
            "`python -m textclf settings` with the same --config first"
        )
    log_runs(
        experiment=experiment,
        settings_yaml=paths["settings"],
        models={name: dict(files) for name, files in paths["models"].items()},
        uri=settings["uri"],
        out_json=paths["record"],
        final=settings["final"],
        search=settings["search"],
        journal=paths["journal"],
        trials_tsv=paths.get("trials"),
        significance_tsv=paths.get("significance"),
    )


def push(settings: dict, paths: Paths, threads: int = 1) -> None:
    """Upload a model folder to the Hugging Face Hub (push.repo_id; token from
    push.token_env)."""
    from textclf.push import push_model

    _need(paths, "model", made_by="the training stages")
    push_model(
        folder=paths["model"],
        repo_id=settings["repo_id"],
        token_env=settings["token_env"],
        private=settings["private"],
        out_json=paths["record"],
        endpoint=settings.get("endpoint"),
    )


def rule_paths(job, **more) -> dict:
    """A rule's job (`snakemake` in its script) as an entry point's paths: its named inputs,
    outputs and logs, and `more`."""
    return {**dict(job.input.items()), **dict(job.output.items()), **dict(job.log.items()), **more}


# --- what each stage reads: its settings and, for the command line, its default paths ---------


@dataclass(frozen=True)
class Stage:
    """A stage's entry point, the part of the resolved settings it reads, and the workflow's
    paths for it. `options` are the entry point's keyword arguments beyond settings, paths and
    threads that the command line sets (kind, worker, processes)."""

    run: Callable
    settings: Callable[..., dict]  # (resolved settings, experiment, **options) -> settings
    paths: Callable[..., dict]  # (experiment, resolved settings, **options) -> paths
    # command-line flag -> "path: help" (the path it sets) or "@option: help" (a folder the
    # paths function takes)
    flags: dict[str, str]
    options: tuple[str, ...] = field(default=())  # kind, worker, processes

    @property
    def summary(self) -> str:
        return " ".join(self.run.__doc__.split("\n\n")[0].split())


def _max_length(s: dict, experiment: str = "", **_) -> dict:
    return {"max_length": s["model"]["max_length"]}


def _mine_settings(s: dict, experiment: str = "", **_) -> dict:
    """The llm section only with the judge on, so the endpoint's settings rerun nothing else."""
    return {
        "max_length": s["model"]["max_length"],
        "mine": s["mine"],
        "llm": s["llm"] if s["mine"]["judge"] else None,
    }


def _train_settings(s: dict, experiment: str, **_) -> dict:
    return {
        "model": s["model"]["name"],
        "training": training_params(s),
        "card": card_params(s, experiment),
    }


def _finetune_settings(s: dict, experiment: str, **_) -> dict:
    return {
        "training": finetune_params(s),
        **{k: s["finetune"][k] for k in STAGE2_ONLY},
        "card": card_params(s, experiment),
    }


def _search_settings(s: dict, experiment: str = "", **_) -> dict:
    return {"search": s["search"], "training": training_params(s), "model": s["model"]["name"]}


def _compress_settings(s: dict, experiment: str = "", kind: str = "onnx", **_) -> dict:
    made = registry.KINDS[kind].made_by
    if made == "compress_{name}":
        return {"training": training_params(s), "max_length": s["model"]["max_length"]}
    return {"training": training_params(s), made: s["compress"][made]}


def _track_settings(s: dict, experiment: str = "", **_) -> dict:
    return {
        "uri": s["tracking"]["uri"] or layout.TRACKING_STORE,
        "final": registry.final_stage(s),
        "search": s["search"],
    }


def _model(e: str, s: dict, model: str | None = None, default: str = "") -> str:
    """A model folder: a path, or the name of a model kind of this experiment."""
    name = model or default or registry.final_stage(s)
    return registry.model_folder(e, name) if name in registry.KINDS else name


def _stem(s: dict, model: str | None) -> str:
    name = model or registry.final_stage(s)
    return name if name in registry.KINDS else Path(name).name


def _into(paths: dict, folder) -> dict:
    """`paths` moved into `folder` (a command's --out-dir), or as they are."""
    if folder is None:
        return paths
    return {name: str(Path(folder) / Path(path).name) for name, path in paths.items()}


def _prepare_paths(e: str, s: dict, dataset=None, out_dir=None, **_) -> dict:
    folder = dataset or s["dataset"]
    sources = layout.dataset_files(folder, Path(layout.dataset_file(folder, "valid")).exists())
    prepared = _into(layout.prepared(e), out_dir)
    return {f"source_{name}": sources.get(name) for name in layout.SPLITS} | prepared


def _search_paths(e: str, s: dict, worker: int = 0, out_dir=None, **_) -> dict:
    report = _into(
        {"best": layout.search(e, "best.yaml")}
        | dict(zip(("trials", "history", "importances"), layout.search_report(e), strict=True)),
        out_dir,
    )
    return report | {
        "train": layout.split(e, "train"),
        "dataset": layout.dataset_json(e),
        "study": layout.search(e, "study.json"),
        "journal": layout.search(e, "journal.log"),
        "worker": layout.search_worker(e, worker),
    }


def _figure_paths(e: str, s: dict, out_dir=None, **_) -> dict:
    folders = registry.model_folders(e, s, registry.STAGE)
    inputs = layout.figure_inputs(e, folders)
    if s["hard_examples"]:
        inputs["hard"] = layout.hard_examples(e)
        inputs["mine_stats"] = layout.mine_stats(e)
    dataset = layout.dataset_json(e)
    multi_label = False
    if Path(dataset).exists():  # the figures a multi-label experiment draws
        from textclf.labels import LabelSpace

        multi_label = LabelSpace.read(dataset).multi_label
    drawn = layout.figures(e, multi_label, s["hard_examples"])
    return inputs | _into(drawn, out_dir)


def _track_paths(e: str, s: dict, **_) -> dict:
    searched = s["search"]["enabled"]
    names = {*layout.FIGURES, *layout.MULTI_LABEL_FIGURES, layout.HARD_EXAMPLES_FIGURE}
    figures = [path for name, path in _figure_paths(e, s).items() if name in names]
    return {
        "settings": layout.settings(e),
        "models": registry.tracked(e, s),
        "significance": layout.significance(e),
        "figures": figures if s["tracking"]["artifacts"] else [],
        "trials": layout.search(e, "trials.tsv") if searched else None,
        "journal": layout.search(e, "journal.log"),
        "record": layout.tracking_record(e),
    }


def _download_paths(e: str, s: dict, out_dir=None, **_) -> dict:
    spec = s.get("download")
    return layout.downloaded(out_dir or s["dataset"], spec) if spec else {}


STAGES: dict[str, Stage] = {
    "settings": Stage(
        settings,
        lambda s, experiment="", **_: s,
        lambda e, s, **_: {"settings": layout.settings(e)},
        {"--out": "settings: settings.yaml"},
    ),
    "download": Stage(
        download,
        lambda s, experiment="", **_: {k: v for k, v in (s.get("download") or {}).items()},
        _download_paths,
        {"--out-dir": "@out_dir: the dataset folder (default: the experiment's dataset)"},
    ),
    "prepare": Stage(
        prepare,
        lambda s, experiment="", **_: {"columns": s["columns"], "data": s["data"]},
        _prepare_paths,
        {
            "--dataset": "@dataset: the dataset folder (train.tsv, test.tsv, optionally valid.tsv)",
            "--out-dir": "@out_dir: where train/valid/test.tsv and dataset.json go",
        },
    ),
    "train": Stage(
        train,
        _train_settings,
        lambda e, s, **_: {
            **layout.prepared(e),
            "best": layout.search(e, "best.yaml") if s["search"]["enabled"] else None,
            "checkpoint": registry.model_folder(e, "stage1"),
        },
        {
            "--train": "train: train.tsv",
            "--valid": "valid: valid.tsv",
            "--dataset": "dataset: dataset.json",
            "--best": "best: a search's best.yaml (default: the experiment's, when it searches)",
            "--out": "checkpoint: the checkpoint folder",
        },
        ("processes",),
    ),
    "search": Stage(
        search,
        _search_settings,
        _search_paths,
        {
            "--train": "train: train.tsv",
            "--dataset": "dataset: dataset.json",
            "--study": "study: study.json",
            "--out-dir": "@out_dir: where best.yaml, trials.tsv and the plots go",
        },
        ("worker",),
    ),
    "augment": Stage(
        augment,
        lambda s, experiment="", **_: {"llm": s["llm"], "augment": s["augment"]},
        lambda e, s, **_: {
            "train": layout.split(e, "train"),
            "augmented": layout.augmented(e),
            "stats": layout.augment_stats(e),
            "server": layout.log(e, "augment_llm_server"),
        },
        {
            "--train": "train: train.tsv",
            "--out": "augmented: augmented.tsv",
            "--stats": "stats: stats.json",
            "--server-log": "server: the log of the LLM server it starts",
        },
    ),
    "mine": Stage(
        mine,
        _mine_settings,
        lambda e, s, **_: {
            "checkpoint": registry.model_folder(e, "stage1"),
            "augmented": layout.augmented(e),
            "train": layout.split(e, "train"),
            "hard": layout.hard_examples(e),
            "stats": layout.mine_stats(e),
            "server": layout.log(e, "mine_llm_server"),
        },
        {
            "--stage1": "checkpoint: stage 1's folder",
            "--augmented": "augmented: augmented.tsv",
            "--train": "train: train.tsv (the rewrites' sources)",
            "--out": "hard: hard rows",
            "--stats": "stats: stats.json",
            "--server-log": "server: the log of the LLM server the judge starts",
        },
    ),
    "finetune": Stage(
        finetune,
        _finetune_settings,
        lambda e, s, **_: {
            "stage1": registry.model_folder(e, "stage1"),
            "train": layout.split(e, "train"),
            "hard": layout.hard_examples(e),
            "valid": layout.split(e, "valid"),
            "checkpoint": registry.model_folder(e, "finetuned"),
        },
        {
            "--stage1": "stage1: stage 1's folder",
            "--train": "train: train.tsv",
            "--hard": "hard: misclassified.tsv",
            "--valid": "valid: valid.tsv",
            "--out": "checkpoint: the checkpoint folder",
        },
        ("processes",),
    ),
    "baseline": Stage(
        baseline,
        lambda s, experiment="", kind="tfidf", **_: {
            "baseline": baseline_params(s, kind),
            "metric": s["train"]["metric"],
        },
        lambda e, s, kind="tfidf", **_: {
            **layout.prepared(e),
            "model": registry.model_folder(e, kind),
        },
        {
            "--train": "train: train.tsv",
            "--valid": "valid: valid.tsv",
            "--dataset": "dataset: dataset.json",
            "--out": "model: the model folder",
        },
        ("kind",),
    ),
    "compress": Stage(
        compress,
        _compress_settings,
        lambda e, s, kind="onnx", model=None, **_: {
            "source": _model(e, s, model, registry.source(s, kind)),
            "train": layout.split(e, "train"),
            "valid": layout.split(e, "valid"),
            "model": registry.model_folder(e, kind),
        },
        {
            "--model": "@model: the source, a folder or a model kind (default: the final "
            "stage; pruned or distilled for their int8 copies)",
            "--train": "train: train.tsv (pruned, distilled)",
            "--valid": "valid: valid.tsv",
            "--out": "model: the model folder",
        },
        ("kind",),
    ),
    "evaluate": Stage(
        evaluate,
        lambda s, experiment="", **_: {
            "positive_label": s["positive_label"],
            "max_length": s["model"]["max_length"],
            "evaluation": {k: s["evaluation"][k] for k in ("resamples", "confidence", "seed")},
        },
        lambda e, s, model=None, **_: {
            "model": _model(e, s, model),
            "valid": layout.split(e, "valid"),
            "test": layout.split(e, "test"),
            "metrics": layout.metrics(e, _stem(s, model)),
            "per_class": layout.per_class(e, _stem(s, model)),
            "probabilities": layout.valid_probabilities(e, _stem(s, model)),
            "predictions": layout.predictions(e, _stem(s, model)),
        },
        {
            "--model": "@model: a folder or a model kind (default: the final stage)",
            "--valid": "valid: valid.tsv",
            "--test": "test: test.tsv",
            "--out": "metrics: the metrics JSON",
            "--per-class": "per_class: the per-class TSV",
            "--probabilities": "probabilities: the valid probabilities TSV",
            "--predictions": "predictions: every labelled row's predicted label (TSV)",
        },
    ),
    "ensemble": Stage(
        ensemble,
        lambda s, experiment="", **_: {},
        lambda e, s, **_: {
            "members": [
                registry.model_folder(run, registry.ensembled(s))
                for run in layout.members(e, s["seeds"]).values()
            ],
            "model": registry.model_folder(e, "ensemble"),
        },
        {"--out": "model: the ensemble's folder"},
    ),
    "significance": Stage(
        significance,
        lambda s, experiment="", **_: {
            "comparisons": registry.comparisons(s),
            "metric": s["train"]["metric"],
            "positive_label": s["positive_label"],
            "evaluation": s["evaluation"],
        },
        lambda e, s, **_: {
            "dataset": layout.dataset_json(e),
            "evaluated": registry.evaluated(e, s),
            "table": layout.significance(e),
            "verdicts": layout.verdicts(e),
            "figure": layout.seeds_figure(e),
        },
        {
            "--out": "table: significance.tsv",
            "--verdicts": "verdicts: the sentences the report opens with (rst)",
            "--figure": "figure: every model's score per seed with its interval",
        },
    ),
    "predict": Stage(
        predict,
        lambda s, experiment="", **_: {
            "max_length": s["model"]["max_length"],
            "scores": s["predict"]["scores"],
        },
        lambda e, s, model=None, **_: {
            "model": _model(e, s, model, registry.predicting(s)),
            "test": layout.split(e, "test"),
            "prediction": layout.prediction(e),
        },
        {
            "--model": "@model: a folder or a model kind (default: predict.model)",
            "--test": "test: test.tsv",
            "--out": "prediction: prediction.csv",
        },
    ),
    "speed": Stage(
        speed,
        _max_length,
        lambda e, s, models=None, **_: {
            "models": {m: _model(e, s, m) for m in models or registry.models(s)},
            "valid": layout.split(e, "valid"),
            "speed": layout.speed(e),
        },
        {"--valid": "valid: valid.tsv (the texts timed)", "--out": "speed: speed.tsv"},
        ("models",),
    ),
    "comparison": Stage(
        comparison,
        lambda s, experiment="", **_: {},
        lambda e, s, **_: {
            "metrics": {m: layout.metrics(e, m) for m in registry.models(s)},
            "evaluated": registry.evaluated(e, s),
            "speed": layout.speed(e),
            "table": layout.comparison(e),
        },
        {"--speed": "speed: speed.tsv", "--out": "table: comparison.tsv"},
    ),
    "figures": Stage(
        figures,
        _max_length,
        _figure_paths,
        {"--out-dir": "@out_dir: where the figures go"},
    ),
    "track": Stage(
        track,
        _track_settings,
        _track_paths,
        {"--out": "record: tracking.json, the record of what was logged where"},
    ),
    "push": Stage(
        push,
        lambda s, experiment="", **_: s["push"],
        lambda e, s, model=None, **_: {
            "model": _model(e, s, model),
            "record": layout.push_record(e),
        },
        {
            "--model": "@model: a folder or a model kind (default: the final stage)",
            "--out": "record: push.json, the record of the upload",
        },
    ),
}
