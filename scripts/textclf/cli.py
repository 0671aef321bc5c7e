"""`python -m textclf <stage>`: the workflow's stages from a shell, a notebook or a launcher such
as torchrun, calling the entry points the rules call (textclf.stages).

Settings come from the workflow's configuration, resolved and checked as the Snakefile does:
`config.yaml` with any `--config` files merged over it in order at every depth (as the
Snakefile's `configfile:` with Snakemake's `--configfile`), and `--experiment` (default: the
configuration's `default_experiment`). Every path defaults to the workflow's layout under
`results/<experiment>/`, so `python -m textclf train --experiment demo` reads and writes what
the `train` rule would; any path can be given instead. Run from the workflow's folder.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

import yaml

from textclf import registry
from textclf.config import SettingsError, check, deep_merge, settings_text
from textclf.machine import usable_cpus
from textclf.stages import STAGES, MissingInput, Stage, label

# The entry points' options beyond settings, paths and threads, as flags.
OPTIONS = {
    "kind": lambda stage: dict(
        required=True,
        choices=registry.names(registry.BASELINE if stage == "baseline" else registry.COMPRESSED),
    ),
    "processes": lambda stage: dict(
        type=int,
        default=1,
        help="training processes on this machine (DDP, torchrun's engine; --threads are shared "
        "by them); or start the command under torchrun itself",
    ),
    "worker": lambda stage: dict(type=int, default=0, help="this worker's number"),
    "models": lambda stage: dict(nargs="+", help="folders or model kinds (default: all)"),
}


def resolve(files: list[str], experiment: str | None) -> tuple[str, dict]:
    """The experiment's name and resolved settings, from config.yaml and the --config files."""
    config: dict = {}
    for path in files:
        if not Path(path).is_file():
            sys.exit(f"{path}: no such configuration file (run in the workflow's folder)")
        config = deep_merge(config, yaml.safe_load(Path(path).read_text()) or {})
    try:
        resolved = check(config)
    except SettingsError as error:
        sys.exit(f"Configuration error: {error}")
    experiment = experiment or config["default_experiment"]
    if experiment not in resolved:
        sys.exit(
            f"--experiment: {experiment!r} is not an experiment of {' + '.join(files)} "
            f"(experiments: {', '.join(resolved)})"
        )
    return experiment, resolved[experiment]


def _flags(stage: Stage):
    """(flag, dest, help, is a path) for each of the stage's path flags."""
    for flag, spec in stage.flags.items():
        name, _, what = spec.partition(": ")
        suffix = "" if "default" in what else " (default: the workflow's)"
        yield flag, name.lstrip("@"), what + suffix, not name.startswith("@")


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="python -m textclf", description=__doc__.split("\n\n")[0].replace("\n", " ")
    )
    commands = main.add_subparsers(dest="stage", required=True, metavar="STAGE")
    for name, stage in STAGES.items():
        sub = commands.add_parser(name, help=stage.summary, description=stage.summary)
        sub.add_argument(
            "--config",
            action="append",
            default=[],
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
        for option in stage.options:
            sub.add_argument(f"--{option}", **OPTIONS[option](name))
        for flag, dest, what, is_path in _flags(stage):
            sub.add_argument(flag, dest=("path:" if is_path else "") + dest, help=what, **PATH)
        if name == "predict":
            _texts_flags(sub)
    return main


def _texts_flags(sub) -> None:
    """predict's flags for labelling texts like pipeline(), no configuration needed."""
    group = sub.add_argument_group(
        "labelling texts (no configuration needed with --model FOLDER; without --text or "
        "--input and without a config.yaml here, the texts come from standard input)"
    )
    group.add_argument("--text", action="append", help="a text to label (repeatable)")
    group.add_argument(
        "--input",
        metavar="FILE",
        help="texts: a .tsv/.csv with a text column (and id), .jsonl with text, else one per "
        "line; - for standard input",
    )
    group.add_argument("--format", choices=("csv", "jsonl"), help="default: csv (or --out's)")
    group.add_argument("--top-k", type=int, default=1, help="labels per text (single-label)")
    group.add_argument("--batch-size", type=int, default=64)


PATH = {"metavar": "PATH", "default": None}


def label_texts(args: argparse.Namespace) -> None:
    """`predict` on texts (--text, --input or standard input): with --model FOLDER nothing else
    is needed; a model kind's folder is found through the configuration. A bad folder or
    file ends in one line (a DataError, logged as such)."""
    model = args.model
    if model is None or not Path(model).exists() and model in registry.KINDS:
        if not Path("config.yaml").is_file():
            sys.exit("--model: give a model folder (no config.yaml here to find a model kind in)")
        experiment, settings = resolve(["config.yaml", *args.config], args.experiment)
        model = STAGES["predict"].paths(experiment, settings, model=model)["model"]
    label(
        model,
        args.text,
        args.input,
        getattr(args, "path:prediction", None),
        args.format,
        args.top_k,
        args.batch_size,
        args.threads,
    )


def run(args: argparse.Namespace) -> None:
    """Call the stage's entry point with the experiment's settings and the paths: the
    workflow's, or those the flags give."""
    stage = STAGES[args.stage]
    if args.stage == "predict" and (args.text or args.input or not Path("config.yaml").is_file()):
        label_texts(args)
        return
    experiment, settings = resolve(["config.yaml", *args.config], args.experiment)
    given = {k: v for k, v in vars(args).items() if v is not None}
    common = {"stage", "config", "experiment", "threads", "log_file"}
    options = {k: v for k, v in given.items() if not k.startswith("path:") and k not in common}
    paths = stage.paths(experiment, settings, **options)
    paths |= {k.removeprefix("path:"): str(v) for k, v in given.items() if k.startswith("path:")}
    extra = {"experiment": experiment, "log_file": args.log_file, "expected": None}
    if args.stage == "track":  # the record tracking reads must hold these settings
        extra["expected"] = settings_text(settings)
    accepted = inspect.signature(stage.run).parameters
    keywords = {k: v for k, v in (options | extra).items() if k in accepted and k != "threads"}
    try:
        stage.run(
            stage.settings(settings, experiment, **options),
            paths,
            threads=args.threads,
            **keywords,
        )
    except MissingInput as error:
        sys.exit(str(error))


def main(argv: list[str] | None = None) -> None:
    from textclf.logs import environment, setup_logging

    args = parser().parse_args(argv)
    setup_logging(args.log_file)
    run(args)
    if environment()[1] > 1:  # under torchrun
        from textclf.distributed import finish

        finish()
