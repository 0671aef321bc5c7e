"""Checking the whole configuration: keys, types and ranges against the contract, then the
combinations the schema cannot express (search spaces, passwords in URIs, the predicted
model, settings that need the other problem type, the positive label)."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from textclf import packaged, registry
from textclf.config.dataset import dataset_labels
from textclf.config.messages import SettingsError, _one_line, _unknown_keys
from textclf.config.resolve import experiment_settings
from textclf.config.schema import _contract, _deref, schema
from textclf.labels import MULTI, SINGLE

# Settings that only mean something for one problem type, by the type they need.
MULTI_LABEL_ONLY = {
    ("train", "pos_weight"),
    ("train", "threshold"),
    ("finetune", "pos_weight"),
    ("finetune", "threshold"),
}
SINGLE_LABEL_ONLY = {("train", "class_weights"), ("finetune", "class_weights")}


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


def _first_error(node: dict, instance):
    """The most telling schema error, or None. A key that failed its own check inside an
    `allOf` also counts as unevaluated there; that echo is dropped for the error itself."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    def echo(error) -> bool:
        return error.validator == "unevaluatedProperties" and not _unknown_keys(error)

    errors = [e for e in Draft202012Validator(node).iter_errors(instance) if not echo(e)]
    return best_match(errors)


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
    _check_mine(f"{where}.mine", settings["mine"])
    try:
        packaged.check_installed(settings["model"]["name"])
    except packaged.NotInstalled as error:
        raise SettingsError(f"{where}.model.name: {error}") from None
    pruned = [m for m in settings["compress"]["models"] if m.startswith("pruned")]
    if packaged.packaged_name(settings["model"]["name"]) == "all-mpnet-base-v2" and pruned:
        raise SettingsError(
            f"{where}.compress.models: {', '.join(pruned)} cannot be made from all-mpnet-base-v2 "
            "(structured pruning does not support MPNet's shared relative position bias); "
            "distilled and the ONNX kinds can"
        )
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
    averaged = settings["evaluation"]["ensemble"]
    trained = registry.models(settings, seeded=True)
    if averaged != "final" and averaged not in trained:
        raise SettingsError(
            f"{where}.evaluation.ensemble: {averaged!r} is not a model this experiment trains "
            f"(final, {', '.join(trained)})"
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
    unknown = sorted(set(settings["mine"]["label_descriptions"]) - set(labels or ()))
    if labels and unknown:
        raise SettingsError(
            f"{where}.mine.label_descriptions: {', '.join(map(repr, unknown))} is not a label of "
            f"{settings['dataset']}/train.tsv ({', '.join(sorted(labels))})"
        )
    for stage in ("train", "finetune"):
        if settings[stage]["metric"] == "f1_positive" and problem_type == MULTI:
            raise SettingsError(
                f"{where}.{stage}.metric: 'f1_positive' has no meaning for "
                f"the multi-label dataset {settings['dataset']}"
            )


def _check_mine(where: str, mine: dict) -> None:
    if mine["relabel"] and not mine["judge"]:
        raise SettingsError(f"{where}.relabel: true needs judge: true (the judge's label)")
    for pattern in mine["fact_patterns"]:
        try:
            re.compile(pattern)
        except re.error as error:
            raise SettingsError(
                f"{where}.fact_patterns: {pattern!r} is not a regular expression ({error})"
            ) from None


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
