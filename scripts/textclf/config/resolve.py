"""Resolving an experiment: the top-level sections with the experiment's own overrides merged
in at every depth, the defaults filled in from the schema, and `finetune` completed from
`train`."""

from __future__ import annotations

import copy

from textclf.config.schema import SECTIONS, VALUES, fill_defaults, schema


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
    shared = {key: config[key] for key in (*SECTIONS, *VALUES) if key in config}
    merged = deep_merge(shared, config["experiments"][name])
    resolved = fill_defaults(schema()["$defs"]["experiment"], merged)
    seeds = resolved["seeds"]
    if isinstance(seeds, int):  # a count: train.seed and the seeds after it
        seeds = [resolved["train"]["seed"] + i for i in range(seeds)]
    resolved["seeds"] = list(seeds)
    resolved["train"]["seed"] = seeds[0]
    resolved["finetune"] = {**resolved["train"], **resolved["finetune"]}
    root = config.get("datasets_root", schema()["properties"]["datasets_root"]["default"])
    resolved["dataset"] = resolved["dataset"].format(datasets_root=root)
    return resolved


def member_settings(settings: dict, seed: int) -> dict:
    """The settings of one seed's models (`seeds`): the experiment's, with train.seed set to
    `seed` and finetune.seed moved by as much (so stage 2 keeps its offset from stage 1, none
    unless finetune sets a seed of its own)."""
    member = copy.deepcopy(settings)
    offset = seed - settings["train"]["seed"]
    member["train"]["seed"] = seed
    member["finetune"]["seed"] = settings["finetune"]["seed"] + offset
    return member
