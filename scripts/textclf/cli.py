"""`python -m textclf <stage>`: the workflow's stages from a shell, a notebook or a launcher such
as torchrun, with the arguments the rules pass and the same library calls.

Settings come from the workflow's configuration, resolved and checked as the Snakefile does:
`config.yaml` with any `--config` files merged over it in order at every depth (as the
Snakefile's `configfile:` with Snakemake's `--configfile`), and `--experiment` (default: the
configuration's `default_experiment`). Every path defaults to the workflow's layout under
`results/<experiment>/`, so `python -m textclf train --experiment demo` reads and writes what
the `train` rule would; any path can be given instead. Run from the workflow's folder.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from textclf import layout, registry
from textclf.config import (
    SettingsError,
    baseline_params,
    card_params,
    check,
    deep_merge,
    finetune_params,
    settings_text,
    training_params,
)
from textclf.speed import usable_cpus


class Run:
    """One command's resolved settings and default paths."""

    def __init__(self, args: argparse.Namespace):
        config: dict = {}
        self.files = ["config.yaml", *args.config]  # the Snakefile's configfile + --configfile
        for path in self.files:
            if not Path(path).is_file():
                sys.exit(f"{path}: no such configuration file (run in the workflow's folder)")
            config = deep_merge(config, yaml.safe_load(Path(path).read_text()) or {})
        try:
            resolved = check(config)
        except SettingsError as error:
            sys.exit(f"Configuration error: {error}")
        self.experiment = args.experiment or config["default_experiment"]
        if self.experiment not in resolved:
            sys.exit(
                f"--experiment: {self.experiment!r} is not an experiment of "
                f"{' + '.join(self.files)} (experiments: {', '.join(resolved)})"
            )
        self.settings = resolved[self.experiment]
        self.args = args

    def arg(self, name: str, default: str) -> str:
        """The path given as --<name>, or the workflow's (a textclf.layout path)."""
        given = getattr(self.args, name)
        return str(given) if given is not None else default

    def split(self, name: str) -> str:
        """--train/--valid/--test, or the experiment's prepared split."""
        return self.arg(name, layout.split(self.experiment, name))

    def dataset_json(self) -> str:
        return self.arg("dataset", layout.dataset_json(self.experiment))

    def model(self, given) -> str:
        """A model folder: a path, or the name of a model kind of this experiment."""
        if given is not None and given not in registry.KINDS:
            return str(given)
        return registry.model_folder(self.experiment, given or registry.final_stage(self.settings))

    def figure_files(self) -> dict[str, str]:
        """Every figure the experiment's figure rules draw (multi-label ones as the prepared
        dataset says)."""
        from textclf.labels import LabelSpace

        dataset = layout.dataset_json(self.experiment)
        self.need(dataset, made_by="prepare")
        multi_label = LabelSpace.read(dataset).multi_label
        return layout.figures(self.experiment, multi_label, self.settings["hard_examples"])

    def need(self, *paths: str, made_by: str) -> None:
        """Stop with one line when an input another stage writes is missing."""
        missing = [path for path in paths if not Path(path).exists()]
        if missing:
            sys.exit(f"{', '.join(missing)}: missing; run {made_by} first (or snakemake)")


# --- the stages -------------------------------------------------------------------------------


def settings(run: Run) -> None:
    from textclf.config import write_settings

    write_settings(run.settings, run.arg("out", layout.settings(run.experiment)))


def download(run: Run) -> None:
    from textclf.download import download_dataset

    spec = run.settings.get("download")
    if not spec:
        sys.exit(f"--experiment {run.experiment}: its settings have no download: section")
    folder = run.args.out_dir or run.settings["dataset"]
    if any(Path(path).exists() for path in layout.downloaded(folder, spec).values()):
        sys.exit(f"{folder}: holds the dataset already, never overwritten (give --out-dir)")
    Path(folder).mkdir(parents=True, exist_ok=True)
    download_dataset(spec=spec, outputs=layout.downloaded(folder, spec))


def prepare(run: Run) -> None:
    from textclf.prepare import prepare as prepare_splits

    folder = run.args.dataset or run.settings["dataset"]
    inputs = layout.dataset_files(folder, Path(layout.dataset_file(folder, "valid")).exists())
    out = run.args.out_dir
    outputs = layout.prepared(run.experiment)
    if out is not None:
        outputs = {name: f"{out}/{Path(path).name}" for name, path in outputs.items()}
    Path(outputs["dataset"]).parent.mkdir(parents=True, exist_ok=True)
    prepare_splits(
        inputs=inputs,
        outputs=outputs,
        text_column=run.settings["columns"]["text"],
        label_column=run.settings["columns"]["label"],
        data=run.settings["data"],
    )


def train(run: Run) -> None:
    from textclf.distributed import launch
    from textclf.stages import run_stage1

    best = run.args.best
    if best is None and run.settings["search"]["enabled"]:
        best = layout.search(run.experiment, "best.yaml")
    launch(
        run_stage1,
        dict(
            model_name=run.settings["model"]["name"],
            train_tsv=run.split("train"),
            valid_tsv=run.split("valid"),
            dataset_json=run.dataset_json(),
            settings=training_params(run.settings),
            out_dir=run.arg("out", registry.model_folder(run.experiment, "stage1")),
            threads=run.args.threads,
            card=card_params(run.settings, run.experiment),
            best_yaml=best,
        ),
        run.args.processes,
        run.args.log_file,
    )


def search(run: Run) -> None:
    from textclf import search as searching

    search_settings = run.settings["search"]
    journal = layout.search(run.experiment, "journal.log")
    study = run.arg("study", layout.search(run.experiment, "study.json"))
    train_tsv = run.split("train")
    worker = run.args.worker
    common = dict(search=search_settings, training=training_params(run.settings))
    model_name = run.settings["model"]["name"]
    searching.create_study(
        run.experiment, train_tsv, **common, model_name=model_name, out_json=study, journal=journal
    )
    finished = searching.run_worker(
        worker=worker,
        study_json=study,
        train_tsv=train_tsv,
        dataset_json=run.dataset_json(),
        **common,
        model_name=model_name,
        out_json=layout.search_worker(run.experiment, worker),
        journal=journal,
        threads=run.args.threads,
    )
    if finished >= search_settings["trials"]:
        out = Path(run.arg("out_dir", layout.search(run.experiment)))
        searching.summarise(
            study,
            search_settings,
            journal,
            out / "best.yaml",
            *(out / name for name in layout.SEARCH_REPORT),
        )


def augment(run: Run) -> None:
    from textclf.augment import run_augment

    server_log = Path(run.arg("server_log", layout.log(run.experiment, "augment_llm_server")))
    server_log.parent.mkdir(parents=True, exist_ok=True)
    run_augment(
        train_tsv=run.split("train"),
        llm=run.settings["llm"],
        augment=run.settings["augment"],
        out_tsv=run.arg("out", layout.augmented(run.experiment)),
        stats_json=run.arg("stats", layout.augment_stats(run.experiment)),
        threads=run.args.threads,
        server_log=str(server_log),
    )


def mine(run: Run) -> None:
    from textclf.stages import run_mine

    run_mine(
        stage1_dir=run.arg("stage1", registry.model_folder(run.experiment, "stage1")),
        augmented_tsv=run.arg("augmented", layout.augmented(run.experiment)),
        out_tsv=run.arg("out", layout.hard_examples(run.experiment)),
        max_length=run.settings["model"]["max_length"],
        threads=run.args.threads,
    )


def finetune(run: Run) -> None:
    from textclf.distributed import launch
    from textclf.stages import run_stage2

    launch(
        run_stage2,
        dict(
            stage1_dir=run.arg("stage1", registry.model_folder(run.experiment, "stage1")),
            train_tsv=run.split("train"),
            hard_tsv=run.arg("hard", layout.hard_examples(run.experiment)),
            valid_tsv=run.split("valid"),
            settings=finetune_params(run.settings),
            original_per_hard=run.settings["finetune"]["original_per_hard"],
            out_dir=run.arg("out", registry.model_folder(run.experiment, "finetuned")),
            threads=run.args.threads,
            card=card_params(run.settings, run.experiment),
        ),
        run.args.processes,
        run.args.log_file,
    )


def baseline(run: Run) -> None:
    from textclf.baselines import run_baseline

    kind = run.args.kind
    run_baseline(
        kind=kind,
        train_tsv=run.split("train"),
        valid_tsv=run.split("valid"),
        dataset_json=run.dataset_json(),
        settings=baseline_params(run.settings, kind),
        out_dir=run.arg("out", registry.model_folder(run.experiment, kind)),
        metric=run.settings["train"]["metric"],
        threads=run.args.threads,
    )


def compress(run: Run) -> None:
    from textclf.tsv import read_tsv

    kind = run.args.kind
    made_from = run.args.model or registry.source(run.settings, kind)
    source = run.model(made_from)
    compressed = made_from in registry.names(registry.COMPRESSED)
    run.need(source, made_by=f"compress --kind {made_from}" if compressed else "the stages")
    out = run.arg("out", registry.model_folder(run.experiment, kind))
    valid_rows = read_tsv(run.split("valid"))
    if kind in registry.made_by("compress_{name}"):
        from textclf.compression import run_compress_onnx

        run_compress_onnx(
            kind=kind,
            model_dir=source,
            valid_rows=valid_rows,
            settings=training_params(run.settings),
            out_dir=out,
            threads=run.args.threads,
            max_length=run.settings["model"]["max_length"],
        )
        return
    if kind == "pruned":
        from textclf.pruning import run_prune as make

        section = "prune"
    else:
        from textclf.distillation import run_distill as make

        section = "distill"
    make(
        model_dir=source,
        train_rows=read_tsv(run.split("train")),
        valid_rows=valid_rows,
        settings=training_params(run.settings),
        out_dir=out,
        threads=run.args.threads,
        **{f"{section}_settings": run.settings["compress"][section]},
    )


def evaluate(run: Run) -> None:
    from textclf.stages import run_evaluate

    name = run.args.model or registry.final_stage(run.settings)
    stem = name if name in registry.KINDS else Path(name).name
    run_evaluate(
        model_dir=run.model(name),
        split_tsvs={"valid": run.split("valid"), "test": run.split("test")},
        out_json=run.arg("out", layout.metrics(run.experiment, stem)),
        out_per_class=run.arg("per_class", layout.per_class(run.experiment, stem)),
        out_probabilities=run.arg(
            "probabilities", layout.valid_probabilities(run.experiment, stem)
        ),
        positive_label=run.settings["positive_label"],
        max_length=run.settings["model"]["max_length"],
        threads=run.args.threads,
    )


def predict(run: Run) -> None:
    from textclf.stages import run_predict

    run_predict(
        model_dir=run.model(run.args.model or registry.predicting(run.settings)),
        test_tsv=run.split("test"),
        out_csv=run.arg("out", layout.prediction(run.experiment)),
        max_length=run.settings["model"]["max_length"],
        threads=run.args.threads,
    )


def speed(run: Run) -> None:
    from textclf.speed import run_speed

    names = run.args.models or registry.models(run.settings)
    run_speed(
        model_dirs={name: run.model(name) for name in names},
        valid_tsv=run.split("valid"),
        out_tsv=run.arg("out", layout.speed(run.experiment)),
        threads=run.args.threads,
        max_length=run.settings["model"]["max_length"],
    )


def comparison(run: Run) -> None:
    from textclf.comparison import write_comparison

    metrics = {name: layout.metrics(run.experiment, name) for name in registry.models(run.settings)}
    write_comparison(
        metrics,
        run.arg("speed", layout.speed(run.experiment)),
        run.arg("out", layout.comparison(run.experiment)),
    )


def figures(run: Run) -> None:
    from textclf.figures import draw

    experiment = run.experiment
    inputs = layout.figure_inputs(
        experiment, registry.model_folders(experiment, run.settings, registry.STAGE)
    )
    if run.settings["hard_examples"]:
        inputs["hard"] = layout.hard_examples(experiment)
    run.need(
        *inputs["checkpoints"],
        *(inputs[k] for k in ("metrics", "probabilities", "dataset", "hard") if k in inputs),
        made_by="the stages (mine included) and evaluate",
    )
    outputs = run.figure_files()
    if run.args.out_dir is not None:
        outputs = {name: f"{run.args.out_dir}/{Path(path).name}" for name, path in outputs.items()}
    Path(next(iter(outputs.values()))).parent.mkdir(parents=True, exist_ok=True)
    draw(inputs, outputs, run.args.threads, run.settings["model"]["max_length"])


def track(run: Run) -> None:
    from textclf.tracking import track as log_runs

    experiment, tracking = run.experiment, run.settings["tracking"]
    models = layout.tracked(experiment, registry.model_folders(experiment, run.settings))
    searched = run.settings["search"]["enabled"]
    trials = layout.search(experiment, "trials.tsv") if searched else None
    record = layout.settings(experiment)
    needed = [record, *(m["metrics"] for m in models.values())]
    run.need(*needed, *([trials] if trials else []), made_by="settings, the stages and evaluate")
    if tracking["artifacts"]:  # the final model's run logs the figures folder
        run.need(*run.figure_files().values(), made_by="figures")
    if Path(record).read_text() != settings_text(run.settings):  # tracking reads the record
        sys.exit(
            f"{record}: records other settings than {' + '.join(run.files)} give; run "
            "`python -m textclf settings` with the same --config first"
        )
    log_runs(
        experiment=experiment,
        settings_yaml=layout.settings(experiment),
        models=models,
        uri=tracking["uri"] or layout.TRACKING_STORE,
        out_json=run.arg("out", layout.tracking_record(experiment)),
        final=registry.final_stage(run.settings),
        search=run.settings["search"],
        journal=layout.search(experiment, "journal.log"),
        trials_tsv=trials,
    )


def push(run: Run) -> None:
    from textclf.push import push_model

    folder = run.model(run.args.model)
    run.need(folder, made_by="the training stages")
    push_settings = run.settings["push"]
    push_model(
        folder=folder,
        repo_id=push_settings["repo_id"],
        token_env=push_settings["token_env"],
        private=push_settings["private"],
        out_json=run.arg("out", layout.push_record(run.experiment)),
        endpoint=push_settings.get("endpoint"),
    )


# --- the command line -------------------------------------------------------------------------

PATH = {"metavar": "PATH", "default": None}
STAGES = {
    "settings": (
        settings,
        "write the experiment's resolved settings (settings.yaml, a record track logs)",
        {"--out": "settings.yaml"},
    ),
    "download": (
        download,
        "fetch, check and convert the dataset of an experiment with a download: section",
        {"--out-dir": "the dataset folder (default: the experiment's dataset)"},
    ),
    "prepare": (
        prepare,
        "check the dataset's TSVs and write the canonical splits and dataset.json",
        {
            "--dataset": "the dataset folder (train.tsv, test.tsv, optionally valid.tsv)",
            "--out-dir": "where train/valid/test.tsv and dataset.json go",
        },
    ),
    "train": (
        train,
        "stage 1: fine-tune the encoder (progressive unfreezing, early stopping)",
        {
            "--train": "train.tsv",
            "--valid": "valid.tsv",
            "--dataset": "dataset.json",
            "--best": "a search's best.yaml (default: the experiment's, when it searches)",
            "--out": "the checkpoint folder",
        },
    ),
    "search": (
        search,
        "hyperparameter search: create or join the study, run trials as one worker until it "
        "holds search.trials, then write best.yaml (run several at once with --worker 0, 1, ...)",
        {
            "--train": "train.tsv",
            "--dataset": "dataset.json",
            "--study": "study.json",
            "--out-dir": "where best.yaml, trials.tsv and the plots go",
        },
    ),
    "augment": (
        augment,
        "ask the LLM to rewrite each training row",
        {
            "--train": "train.tsv",
            "--out": "augmented.tsv",
            "--stats": "stats.json",
            "--server-log": "the log of the LLM server it starts",
        },
    ),
    "mine": (
        mine,
        "keep the augmented rows the stage-1 model gets wrong",
        {"--stage1": "stage 1's folder", "--augmented": "augmented.tsv", "--out": "hard rows"},
    ),
    "finetune": (
        finetune,
        "stage 2: continue from stage 1 on the hard rows mixed with original rows",
        {
            "--stage1": "stage 1's folder",
            "--train": "train.tsv",
            "--hard": "misclassified.tsv",
            "--valid": "valid.tsv",
            "--out": "the checkpoint folder",
        },
    ),
    "baseline": (
        baseline,
        "train a baseline (--kind scratch or tfidf)",
        {
            "--train": "train.tsv",
            "--valid": "valid.tsv",
            "--dataset": "dataset.json",
            "--out": "the model folder",
        },
    ),
    "compress": (
        compress,
        "a compressed copy of a model (--kind: onnx, onnx-int8, pruned, distilled, "
        "pruned-onnx-int8 or distilled-onnx-int8)",
        {
            "--model": "the source: a folder or a model kind (default: the final stage; "
            "pruned or distilled for their int8 copies)",
            "--train": "train.tsv (pruned, distilled)",
            "--valid": "valid.tsv",
            "--out": "the model folder",
        },
    ),
    "evaluate": (
        evaluate,
        "metrics of a model on valid and (where labelled) test",
        {
            "--model": "a folder or a model kind (default: the final stage)",
            "--valid": "valid.tsv",
            "--test": "test.tsv",
            "--out": "the metrics JSON",
            "--per-class": "the per-class TSV",
            "--probabilities": "the valid probabilities TSV",
        },
    ),
    "predict": (
        predict,
        "label test.tsv: prediction.csv (id,label)",
        {
            "--model": "a folder or a model kind (default: predict.model)",
            "--test": "test.tsv",
            "--out": "prediction.csv",
        },
    ),
    "speed": (
        speed,
        "latency and throughput of models, one after another in one process",
        {"--valid": "valid.tsv (the texts timed)", "--out": "speed.tsv"},
    ),
    "comparison": (
        comparison,
        "every model of the experiment side by side on valid (comparison.tsv)",
        {"--speed": "speed.tsv", "--out": "comparison.tsv"},
    ),
    "figures": (
        figures,
        "every figure of the experiment (the figure rules' own, hardest examples included)",
        {"--out-dir": "where the figures go"},
    ),
    "track": (
        track,
        "log every model of the experiment (and its search's trials) to the tracking store",
        {"--out": "tracking.json, the record of what was logged where"},
    ),
    "push": (
        push,
        "upload a model folder to the Hugging Face Hub (push.repo_id; token from push.token_env)",
        {
            "--model": "a folder or a model kind (default: the final stage)",
            "--out": "push.json, the record of the upload",
        },
    ),
}


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="python -m textclf", description=__doc__.split("\n\n")[0].replace("\n", " ")
    )
    stages = main.add_subparsers(dest="stage", required=True, metavar="STAGE")
    for name, (_, summary, paths) in STAGES.items():
        sub = stages.add_parser(name, help=summary, description=summary)
        sub.add_argument(
            "--config",
            action="append",
            metavar="YAML",
            help="configuration file merged over config.yaml, repeatable, in order (as "
            "Snakemake's --configfile)",
        )
        sub.add_argument("--experiment", help="default: the configuration's default_experiment")
        sub.add_argument(
            "--threads", type=int, default=usable_cpus(), help="torch threads (default: all)"
        )
        # not --log: under torchrun, a prefix of its --log-dir is taken for torchrun's own
        sub.add_argument("--log-file", metavar="FILE", help="also log to FILE")
        if name in ("baseline", "compress"):
            role = registry.BASELINE if name == "baseline" else registry.COMPRESSED
            sub.add_argument("--kind", required=True, choices=registry.names(role))
        if name in ("train", "finetune"):
            sub.add_argument(
                "--processes",
                type=int,
                default=1,
                help="training processes on this machine (DDP, torchrun's engine; --threads "
                "are shared by them); or start the command under torchrun itself",
            )
        if name == "search":
            sub.add_argument("--worker", type=int, default=0, help="this worker's number")
        if name == "speed":
            sub.add_argument("--models", nargs="+", help="folders or model kinds (default: all)")
        for flag, what in paths.items():
            suffix = "" if "default" in what else " (default: the workflow's)"
            sub.add_argument(flag, help=what + suffix, **PATH)
    return main


def main(argv: list[str] | None = None) -> None:
    from textclf.logs import environment, setup_logging

    args = parser().parse_args(argv)
    args.config = args.config or []
    setup_logging(args.log_file)
    function = STAGES[args.stage][0]
    function(Run(args))
    if environment()[1] > 1:  # under torchrun
        from textclf.distributed import finish

        finish()
