"""The configuration as a contract: every experiment's settings resolved and checked when the
Snakefile is parsed, before any job, and the typed settings a stage reads.

`schemas/config.schema.yaml` is the one source of truth for each setting's key, type, allowed
values and default. An experiment's settings are the top-level sections with the experiment's
own overrides merged in at every depth, the defaults filled in from the schema, and the
`finetune` section completed from `train`; `results/<experiment>/settings.yaml` records them.
A mistake stops the run with one line naming the key path, the problem and, for a misspelt
key, the closest valid name.

The Snakefile imports this module, so it needs only the standard library and PyYAML
(jsonschema, which Snakemake brings, only for `check`): never torch, numpy or pandas.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import json
import os
import reprlib
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from textclf import registry
from textclf.labels import MULTI, SINGLE, infer_problem_type

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"
# Every section an experiment may override.
SECTIONS = (
    "data",
    "columns",
    "model",
    "train",
    "finetune",
    "llm",
    "augment",
    "baselines",
    "push",
    "search",
    "tracking",
    "compress",
    "predict",
)
# Settings that only mean something for one problem type, by the type they need.
MULTI_LABEL_ONLY = {
    ("train", "pos_weight"),
    ("train", "threshold"),
    ("finetune", "pos_weight"),
    ("finetune", "threshold"),
}
SINGLE_LABEL_ONLY = {("train", "class_weights"), ("finetune", "class_weights")}


class SettingsError(ValueError):
    """A configuration mistake, in one line: key path, problem, closest valid name."""


@functools.cache
def schema() -> dict:
    # libyaml's loader where PyYAML has it: 10x faster on the schema, which every Snakemake
    # start (a dry run included) reads
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(SCHEMA_PATH.read_text(encoding="utf-8"), Loader=loader)


def _deref(node: dict) -> dict:
    """`node` with a `$ref` replaced by what it points to (the node's own keys win)."""
    if "$ref" not in node:
        return node
    target = schema()
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    return {**_deref(target), **{k: v for k, v in node.items() if k != "$ref"}}


def _section_node(path: str) -> dict:
    """The schema of a section ("train") or a part of one ("baselines.scratch")."""
    first, *rest = path.split(".")
    node = _deref(schema()["$defs"][first])
    for part in rest:
        node = _deref(node["properties"][part])
    return node


def _known_keys(node: dict) -> list[str]:
    node = _deref(node)
    keys = list(node.get("properties", {}))
    for part in node.get("allOf", []):
        keys += [k for k in _known_keys(part) if k not in keys]
    return keys


def fill_defaults(node: dict, value):
    """`value` with every missing key of `node`'s properties set to its schema default, in
    the schema's order. Only a node's own `properties` give defaults (an `allOf` checks, it
    does not fill: `finetune` takes what it does not set from `train`)."""
    node = _deref(node)
    properties = node.get("properties")
    if not properties or not isinstance(value, dict):
        return value
    filled = {}
    for key, sub in properties.items():
        sub = _deref(sub)
        if key in value:
            filled[key] = fill_defaults(sub, value[key])
        elif "default" in sub:
            filled[key] = copy.deepcopy(sub["default"])
        elif "properties" in sub and not sub.get("required") and fill_defaults(sub, {}):
            filled[key] = fill_defaults(sub, {})  # a mapping of defaults (model.card)
    return filled | {k: v for k, v in value.items() if k not in filled}


def default(path: str):
    """The schema default of one setting, e.g. default("model.max_length")."""
    section, key = path.rsplit(".", 1)
    return copy.deepcopy(_deref(_section_node(section)["properties"][key])["default"])


def deep_merge(base: dict, override: dict) -> dict:
    """`base` with `override` merged in at every depth; lists and values are replaced."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def experiment_settings(config: dict, name: str) -> dict:
    """The resolved settings of experiment `name`: every key, defaults filled in."""
    shared = {key: config[key] for key in (*SECTIONS, "hard_examples") if key in config}
    merged = deep_merge(shared, config["experiments"][name])
    resolved = fill_defaults(schema()["$defs"]["experiment"], merged)
    resolved["finetune"] = {**resolved["train"], **resolved["finetune"]}
    root = config.get("datasets_root", schema()["properties"]["datasets_root"]["default"])
    resolved["dataset"] = resolved["dataset"].format(datasets_root=root)
    return resolved


def training_params(settings: dict) -> dict:
    """What stage-1 training takes from an experiment's resolved settings (the train rule's
    params and `python -m textclf train`'s)."""
    return {
        **settings["train"],
        "max_length": settings["model"]["max_length"],
        "positive_label": settings["positive_label"],
    }


def finetune_params(settings: dict) -> dict:
    """Stage 2's training settings: stage 1's, overridden by the finetune section."""
    overrides = {k: v for k, v in settings["finetune"].items() if k != "original_per_hard"}
    return {**training_params(settings), **overrides}


def card_params(settings: dict, experiment: str) -> dict:
    """What the model card says beyond what training knows: name, dataset, license, tags."""
    dataset = os.path.basename(os.path.normpath(settings["dataset"]))
    return {"name": experiment, "dataset": dataset, **settings["model"]["card"]}


def baseline_params(settings: dict, baseline: str) -> dict:
    return {**settings["baselines"][baseline], "seed": settings["train"]["seed"]}


def check(config: dict) -> dict[str, dict]:
    """Every experiment's resolved settings, after checking the whole configuration: keys,
    types and ranges against the schema, then combinations the schema cannot express. Raises
    SettingsError (one line) on the first mistake."""
    contract = _contract()
    error = _first_error(contract, config)
    if error is not None:
        raise SettingsError(_one_line(error))
    default_experiment = config["default_experiment"]
    if default_experiment not in config["experiments"]:
        names = ", ".join(config["experiments"])
        raise SettingsError(
            f"default_experiment: {default_experiment!r} is not an experiment "
            f"(experiments: {names})"
        )
    resolved = {name: experiment_settings(config, name) for name in config["experiments"]}
    experiment_schema = {"$defs": contract["$defs"], "$ref": "#/$defs/experiment"}
    for name, settings in resolved.items():
        where = f"experiments.{name}"
        error = _first_error(experiment_schema, settings)
        if error is not None:
            raise SettingsError(_one_line(error, where))
        _check_combinations(where, settings, config["experiments"][name])
    return resolved


def _contract() -> dict:
    """The schema with the baselines and compressed models it offers taken from the registry
    of model kinds."""
    contract = copy.deepcopy(schema())
    for section, role in (("baselines", registry.BASELINE), ("compress", registry.COMPRESSED)):
        models = contract["$defs"][section]["properties"]["models"]
        models["items"] = {"enum": registry.names(role)}
    return contract


def _first_error(node: dict, instance):
    """The most telling schema error, or None. A key that failed its own check inside an
    `allOf` also counts as unevaluated there; that echo is dropped for the error itself."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    def echo(error) -> bool:
        return error.validator == "unevaluatedProperties" and not _unknown_keys(error)

    errors = [e for e in Draft202012Validator(node).iter_errors(instance) if not echo(e)]
    return best_match(errors)


def _unknown_keys(error) -> list[str]:
    known = _known_keys(error.schema)
    return sorted(key for key in error.instance if key not in known)


def _check_combinations(where: str, settings: dict, own: dict) -> None:
    for stage in ("train", "finetune"):
        training = settings[stage]
        if training["unfreeze"] != "none" and training["unfreeze_layers"] == 0:
            raise SettingsError(
                f"{where}.{stage}.unfreeze_layers: 0 opens no layer while {stage}.unfreeze is "
                f"{training['unfreeze']!r} (set unfreeze: none, or unfreeze_layers: 1 or more)"
            )
    band = settings["augment"]["similarity_band"]
    if band is not None and band[0] > band[1]:
        raise SettingsError(
            f"{where}.augment.similarity_band: low {band[0]} is above high {band[1]}"
        )
    _check_search_space(f"{where}.search.space", settings["search"]["space"])
    uri = settings["tracking"]["uri"]
    if uri is not None and urlsplit(uri).password is not None:
        raise SettingsError(
            f"{where}.tracking.uri: holds a password, which would be written to settings.yaml "
            "and every run's params; put it in MLFLOW_TRACKING_PASSWORD instead"
        )
    storage = settings["search"]["storage"]
    if storage is not None and urlsplit(storage).password is not None:
        raise SettingsError(
            f"{where}.search.storage: holds a password, which would be written to settings.yaml "
            "and Snakemake's records; put it in PGPASSWORD or ~/.pgpass (or the database's own "
            "password file) instead"
        )
    produced = registry.models(settings)
    chosen = settings["predict"]["model"]
    if chosen != "final" and chosen not in produced:
        raise SettingsError(
            f"{where}.predict.model: {chosen!r} is not a model this experiment produces "
            f"(final, {', '.join(produced)})"
        )
    problem_type, labels = dataset_labels(settings)
    if problem_type is None:
        return
    # Only what the experiment sets itself: a top-level setting serves the experiments it fits.
    mismatched = MULTI_LABEL_ONLY if problem_type == SINGLE else SINGLE_LABEL_ONLY
    for section, key in sorted(mismatched):
        value = own.get(section, {}).get(key)
        if value not in (None, False):
            raise SettingsError(
                f"{where}.{section}.{key}: {json.dumps(value)} has no meaning for the "
                f"{problem_type.replace('_', '-')} dataset {settings['dataset']}"
            )
    positive = settings["positive_label"]
    if positive is not None and problem_type == MULTI:
        raise SettingsError(
            f"{where}.positive_label: {positive!r} has no meaning for the "
            f"multi-label dataset {settings['dataset']}"
        )
    if positive is not None and labels and positive not in labels:
        raise SettingsError(
            f"{where}.positive_label: {positive!r} is not a label of "
            f"{settings['dataset']}/train.tsv ({', '.join(sorted(labels))})"
        )
    for stage in ("train", "finetune"):
        if settings[stage]["metric"] == "f1_positive" and problem_type == MULTI:
            raise SettingsError(
                f"{where}.{stage}.metric: 'f1_positive' has no meaning for "
                f"the multi-label dataset {settings['dataset']}"
            )


def _check_search_space(where: str, space: dict) -> None:
    """Every end of a range and every choice must be a valid value of its training setting,
    and a range must hold more than one value."""
    training = _deref(schema()["$defs"]["training"])["properties"]
    for name, spec in space.items():
        values = spec if isinstance(spec, list) else [spec["low"], spec["high"]]
        for value in values:
            error = _first_error({"$defs": schema()["$defs"], **training[name]}, value)
            if error is not None:
                raise SettingsError(_one_line(error, f"{where}.{name}"))
        if isinstance(spec, dict) and not spec["low"] < spec["high"]:
            raise SettingsError(
                f"{where}.{name}: empty or inverted range: low {spec['low']} is not below high "
                f"{spec['high']}"
            )
        if isinstance(spec, dict) and spec.get("log") and spec["low"] <= 0:
            raise SettingsError(f"{where}.{name}: a log range needs low above 0, not {spec['low']}")


def dataset_labels(settings: dict) -> tuple[str | None, set[str]]:
    """(problem type, label fields of train.tsv) as far as they can be known before `prepare`
    runs: the configured problem type, or for `auto` the one `prepare` will infer from
    train.tsv; (None, empty) while the dataset is not there yet (a download will bring it)."""
    configured = settings["data"]["problem_type"]
    path = Path(settings["dataset"]) / "train.tsv"
    fields = _label_fields(path, settings["columns"]["label"], _modified(path))
    if fields is None:  # no file yet, or no such column (prepare names it with the file)
        return (None if configured == "auto" else configured), set()
    separator = settings["data"]["label_separator"]
    return infer_problem_type(configured, fields, separator), fields


def _modified(path: Path) -> int | None:
    return path.stat().st_mtime_ns if path.exists() else None


@functools.cache
def _label_fields(path: Path, column: str, modified: int | None) -> frozenset[str] | None:
    """The distinct label fields of a TSV, read once per parse (the Snakefile asks often)."""
    if modified is None:
        return None
    with open(path, encoding="utf-8", errors="replace") as lines:
        header = next(lines, "").rstrip("\r\n").split("\t")
        if column not in header:
            return None
        index = header.index(column)
        return frozenset(
            line.rstrip("\r\n").split("\t")[index]
            for line in lines
            if line.strip() and len(line.split("\t")) > index
        )


def _where(path, prefix: str = "") -> str:
    parts = [prefix] if prefix else []
    parts += [str(part) for part in path]
    return ".".join(parts) or "config"


def _closest(name, candidates) -> str:
    close = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


TYPE_NAMES = {
    "number": "a number",
    "integer": "an integer",
    "string": "a string",
    "boolean": "true or false",
    "object": "a mapping of keys",
    "array": "a list",
    "null": "null",
}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _one_line(error, prefix: str = "") -> str:
    """A jsonschema error as one line: key path, problem, closest valid name."""
    where = _where(error.absolute_path, prefix)
    value = error.instance
    if error.validator in ("additionalProperties", "unevaluatedProperties"):
        known, unknown = _known_keys(error.schema), _unknown_keys(error)
        top = "experiments" in known or "dataset" in known
        kind = "section" if top else "key"
        return f"{where}: unknown {kind} {unknown[0]!r}{_closest(unknown[0], known)}"
    if error.validator == "type":
        types = error.validator_value
        types = [types] if isinstance(types, str) else types
        wanted = " or ".join(TYPE_NAMES.get(t, t) for t in types)
        hint = ""
        if isinstance(value, str) and "number" in types and _is_number(value):
            hint = f" (YAML reads {value} as text: write it with a decimal point, e.g. 1.0e-5)"
        return f"{where}: {reprlib.repr(value)} is not {wanted}{hint}"
    if error.validator == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        hint = _closest(value, error.validator_value) if isinstance(value, str) else ""
        return f"{where}: {reprlib.repr(value)} is not one of {allowed}{hint}"
    if error.validator in ("oneOf", "anyOf"):
        return f"{where}: {reprlib.repr(value)} is not {_allowed(error.schema, ' | ')}"
    if error.validator == "required":
        missing = [key for key in error.validator_value if key not in value]
        return f"{where}: {missing[0]!r} is missing"
    return f"{where}: {' '.join(error.message.split())[:300]}"


def settings_class(section: str):
    """Make a dataclass of a config section whose fields default to the schema's defaults:
    a field without a default of its own takes `<section>.<field>`'s."""

    def decorate(cls):
        for name in cls.__annotations__:
            if name in cls.__dict__:
                continue
            value = default(f"{section}.{name}")
            if isinstance(value, list | dict):
                setattr(
                    cls, name, dataclasses.field(default_factory=lambda v=value: copy.deepcopy(v))
                )
            else:
                setattr(cls, name, value)
        return dataclasses.dataclass(cls)

    return decorate


def from_section(cls, section: dict | None, what: str):
    """The dataclass `cls` from a config section. A key `cls` does not know is an error naming
    the section (`what`), so a misspelt setting never passes silently as its default."""
    section = section or {}
    unknown = set(section) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise ValueError(f"unknown {what} settings: {', '.join(sorted(unknown))}")
    return cls(**section)


def settings_text(settings: dict) -> str:
    """What results/<experiment>/settings.yaml holds for these resolved settings."""
    header = (
        "# Resolved settings of this experiment (defaults filled in); a record, read by no job.\n"
    )
    return header + yaml.safe_dump(settings, sort_keys=False, allow_unicode=True)


def write_settings(settings: dict, out_yaml) -> None:
    """results/<experiment>/settings.yaml: the resolved settings, every key."""
    from textclf.tsv import write_text  # here: textclf.tsv needs pandas, parsing does not

    write_text(settings_text(settings), out_yaml)


def _allowed(node: dict, bar: str = " \\| ") -> str:
    """What a setting allows, in words (a markdown table cell by default)."""
    node = _deref(node)
    if "enum" in node:
        return bar.join(str(v) for v in node["enum"])
    if "oneOf" in node:
        return " or ".join(_allowed(part, bar) for part in node["oneOf"])
    kinds = node.get("type", "")
    kinds = " or ".join(kinds) if isinstance(kinds, list) else kinds
    bounds = [
        f"{symbol} {node[key]}"
        for key, symbol in (
            ("minimum", ">="),
            ("exclusiveMinimum", ">"),
            ("maximum", "<="),
            ("exclusiveMaximum", "<"),
        )
        if key in node
    ]
    return ", ".join([kinds or "list", *bounds]) if kinds or bounds else ""


def reference() -> str:
    """docs/settings.md: every setting with its default, allowed values and meaning, drawn
    from the schema (`python -m textclf.config > docs/settings.md`)."""
    lines = [
        "# Settings",
        "",
        "Drawn from `schemas/config.schema.yaml` by `python -m textclf.config`; do not edit.",
        "Each section may be set at the top level of the config (every experiment) or",
        "inside an experiment (that experiment alone).",
        "",
    ]

    def rows(node, prefix):
        node = _deref(node)
        for key, sub in node.get("properties", {}).items():
            sub = _deref(sub)
            if "properties" in sub and "default" not in sub:
                yield from rows(sub, f"{prefix}{key}.")
                continue
            shown = sub.get("shown") or (json.dumps(sub["default"]) if "default" in sub else "")
            meaning = sub.get("description", "").replace("|", "\\|")
            yield f"| `{prefix}{key}` | `{shown}` | {_allowed(sub)} | {meaning} |"

    for section in ("hard_examples", *SECTIONS):
        node = _deref(schema()["$defs"][section])
        lines += [f"## {section}", "", node.get("description", "").strip(), ""]
        lines += ["| key | default | allowed | meaning |", "|---|---|---|---|"]
        if section == "hard_examples":
            lines.append(f"| `hard_examples` | `true` | boolean | {node['description']} |")
        else:
            if section == "finetune":  # what it does not set comes from train
                training = _deref(schema()["$defs"]["training"])["properties"]
                own = node["properties"]
                node = {
                    "properties": {
                        key: {
                            **_deref(training.get(key, {})),
                            **own.get(key, {}),
                            "shown": None if "default" in own.get(key, {}) else "train's",
                        }
                        for key in [*training, *[k for k in own if k not in training]]
                    }
                }
            lines += rows(node, f"{section}.")
        lines.append("")
    return "\n".join(lines).replace("\n\n\n", "\n\n")


if __name__ == "__main__":
    print(reference(), end="")
