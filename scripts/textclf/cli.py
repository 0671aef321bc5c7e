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

from textclf import registry
from textclf.config import (
    SettingsError,
    baseline_params,
    card_params,
    check,
    deep_merge,
    finetune_params,
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

    def path(self, given, relative: str) -> str:
        """`given`, or the workflow's path `results/<experiment>/<relative>`."""
        return str(given) if given is not None else f"results/{self.experiment}/{relative}"

    def model(self, given) -> str:
        """A model folder: a path, or the name of a model kind of this experiment."""
        if given is not None and given not in registry.KINDS:
            return str(given)
        return registry.model_folder(self.experiment, given or registry.final_stage(self.settings))


# --- the stages -------------------------------------------------------------------------------


def prepare(run: Run) -> None:
    from textclf.prepare import prepare as prepare_splits

    folder = run.args.dataset or run.settings["dataset"]
    inputs = {split: f"{folder}/{split}.tsv" for split in ("train", "test")}
    if Path(f"{folder}/valid.tsv").exists():
        inputs["valid"] = f"{folder}/valid.tsv"
    out = run.path(run.args.out_dir, "data")
    Path(out).mkdir(parents=True, exist_ok=True)
    outputs = {name: f"{out}/{name}.tsv" for name in ("train", "valid", "test")}
    prepare_splits(
        inputs=inputs,
        outputs={**outputs, "dataset": f"{out}/dataset.json"},
        text_column=run.settings["columns"]["text"],
        label_column=run.settings["columns"]["label"],
        data=run.settings["data"],
    )


def train(run: Run) -> None:
    from textclf.distributed import launch
    from textclf.stages import run_stage1

    best = run.args.best
    if best is None and run.settings["search"]["enabled"]:
        best = run.path(None, "search/best.yaml")
    launch(
        run_stage1,
        dict(
            model_name=run.settings["model"]["name"],
            train_tsv=run.path(run.args.train, "data/train.tsv"),
            valid_tsv=run.path(run.args.valid, "data/valid.tsv"),
            dataset_json=run.path(run.args.dataset, "data/dataset.json"),
            settings=training_params(run.settings),
            out_dir=run.path(run.args.out, "checkpoints/stage1"),
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
    journal = run.path(None, "search/journal.log")
    study = run.path(run.args.study, "search/study.json")
    train_tsv = run.path(run.args.train, "data/train.tsv")
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
        dataset_json=run.path(run.args.dataset, "data/dataset.json"),
        **common,
        model_name=model_name,
        out_json=run.path(None, f"search/workers/{worker}.json"),
        journal=journal,
        threads=run.args.threads,
    )
    if finished >= search_settings["trials"]:
        out = Path(run.path(run.args.out_dir, "search"))
        searching.summarise(
            study,
            search_settings,
            journal,
            out / "best.yaml",
            out / "trials.tsv",
            out / "optimization_history.png",
            out / "param_importances.png",
        )


def augment(run: Run) -> None:
    from textclf.augment import run_augment

    server_log = Path(run.path(run.args.server_log, "logs/augment_llm_server.log"))
    server_log.parent.mkdir(parents=True, exist_ok=True)
    run_augment(
        train_tsv=run.path(run.args.train, "data/train.tsv"),
        llm=run.settings["llm"],
        augment=run.settings["augment"],
        out_tsv=run.path(run.args.out, "augment/augmented.tsv"),
        stats_json=run.path(run.args.stats, "augment/stats.json"),
        threads=run.args.threads,
        server_log=str(server_log),
    )


def mine(run: Run) -> None:
    from textclf.stages import run_mine

    run_mine(
        stage1_dir=run.path(run.args.stage1, "checkpoints/stage1"),
        augmented_tsv=run.path(run.args.augmented, "augment/augmented.tsv"),
        out_tsv=run.path(run.args.out, "mine/misclassified.tsv"),
        max_length=run.settings["model"]["max_length"],
        threads=run.args.threads,
    )


def finetune(run: Run) -> None:
    from textclf.distributed import launch
    from textclf.stages import run_stage2

    launch(
        run_stage2,
        dict(
            stage1_dir=run.path(run.args.stage1, "checkpoints/stage1"),
            train_tsv=run.path(run.args.train, "data/train.tsv"),
            hard_tsv=run.path(run.args.hard, "mine/misclassified.tsv"),
            valid_tsv=run.path(run.args.valid, "data/valid.tsv"),
            settings=finetune_params(run.settings),
            original_per_hard=run.settings["finetune"]["original_per_hard"],
            out_dir=run.path(run.args.out, "checkpoints/finetuned"),
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
        train_tsv=run.path(run.args.train, "data/train.tsv"),
        valid_tsv=run.path(run.args.valid, "data/valid.tsv"),
        dataset_json=run.path(run.args.dataset, "data/dataset.json"),
        settings=baseline_params(run.settings, kind),
        out_dir=run.path(run.args.out, f"baselines/{kind}"),
        metric=run.settings["train"]["metric"],
        threads=run.args.threads,
    )


def compress(run: Run) -> None:
    from textclf.tsv import read_tsv

    kind, source = run.args.kind, run.model(run.args.model)
    out = run.path(run.args.out, f"compressed/{kind}")
    valid_rows = read_tsv(run.path(run.args.valid, "data/valid.tsv"))
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
        train_rows=read_tsv(run.path(run.args.train, "data/train.tsv")),
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
        split_tsvs={
            "valid": run.path(run.args.valid, "data/valid.tsv"),
            "test": run.path(run.args.test, "data/test.tsv"),
        },
        out_json=run.path(run.args.out, f"metrics/{stem}.json"),
        out_per_class=run.path(run.args.per_class, f"metrics/{stem}_per_class.tsv"),
        out_probabilities=run.path(
            run.args.probabilities, f"metrics/{stem}_valid_probabilities.tsv"
        ),
        positive_label=run.settings["positive_label"],
        max_length=run.settings["model"]["max_length"],
        threads=run.args.threads,
    )


def predict(run: Run) -> None:
    from textclf.stages import run_predict

    run_predict(
        model_dir=run.model(run.args.model or registry.predicting(run.settings)),
        test_tsv=run.path(run.args.test, "data/test.tsv"),
        out_csv=run.path(run.args.out, "prediction.csv"),
        max_length=run.settings["model"]["max_length"],
        threads=run.args.threads,
    )


def speed(run: Run) -> None:
    from textclf.speed import run_speed

    names = run.args.models or registry.models(run.settings)
    run_speed(
        model_dirs={name: run.model(name) for name in names},
        valid_tsv=run.path(run.args.valid, "data/valid.tsv"),
        out_tsv=run.path(run.args.out, "metrics/speed.tsv"),
        threads=run.args.threads,
        max_length=run.settings["model"]["max_length"],
    )


def comparison(run: Run) -> None:
    from textclf.comparison import write_comparison

    metrics = {
        name: run.path(None, f"metrics/{name}.json") for name in registry.models(run.settings)
    }
    write_comparison(
        metrics,
        run.path(run.args.speed, "metrics/speed.tsv"),
        run.path(run.args.out, "comparison.tsv"),
    )


# --- the command line -------------------------------------------------------------------------

PATH = {"metavar": "PATH", "default": None}
STAGES = {
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
        "a compressed copy of a model (--kind onnx, onnx-int8, pruned or distilled)",
        {
            "--model": "the source: a folder or a model kind (default: the final stage)",
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
