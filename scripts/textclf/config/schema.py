"""The schema: `schemas/config.schema.yaml` loaded once, its `$ref`s followed, its sections and
their keys, the defaults it gives, and the contract (the schema with the model kinds the
registry offers)."""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import yaml

from textclf import registry


def _schema_path() -> Path:
    """schemas/ of the checkout (scripts/textclf/config/ -> the workflow's folder), or of a copy
    of the package shipped beside it (an MLflow model's code/: textclf.pyfunc)."""
    here = Path(__file__).resolve()
    roots = (here.parents[3], here.parents[2])
    places = [root / "schemas" / "config.schema.yaml" for root in roots]
    return next((place for place in places if place.is_file()), places[0])


SCHEMA_PATH = _schema_path()
# Every section an experiment may override.
SECTIONS = (
    "data",
    "columns",
    "model",
    "train",
    "finetune",
    "llm",
    "augment",
    "mine",
    "baselines",
    "push",
    "search",
    "tracking",
    "compress",
    "predict",
    "evaluation",
)
# The experiment's settings that are one value, not a section (set at the top level or inside
# an experiment like a section).
VALUES = ("hard_examples", "seeds")


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


def _contract() -> dict:
    """The schema with the baselines and compressed models it offers taken from the registry
    of model kinds."""
    contract = copy.deepcopy(schema())
    for section, role in (("baselines", registry.BASELINE), ("compress", registry.COMPRESSED)):
        models = contract["$defs"][section]["properties"]["models"]
        models["items"] = {"enum": registry.names(role)}
    return contract
