"""The configuration as a contract: every experiment's settings resolved and checked when the
Snakefile is parsed, before any job, and the typed settings a stage reads.

`schemas/config.schema.yaml` is the one source of truth for each setting's key, type, allowed
values and default. An experiment's settings are the top-level sections with the experiment's
own overrides merged in at every depth, the defaults filled in from the schema, and the
`finetune` section completed from `train`; `results/<experiment>/settings.yaml` records them.
A mistake stops the run with one line naming the key path, the problem and, for a misspelt
key, the closest valid name.

One module a job: `schema` (loading it, sections, defaults, the contract), `resolve` (merging
an experiment), `validate` (`check`), `dataset` (train.tsv's labels before `prepare`),
`messages` (the wording of mistakes), `classes` (the settings-class factory), `record`
(settings.yaml), `params` (a rule's params from the settings) and `docs` (docs/settings.md:
`python -m textclf.config.docs`). This module re-exports what the rest of the library uses.

The Snakefile imports this package, so it needs only the standard library and PyYAML
(jsonschema, which Snakemake brings, only for `check`): never torch, numpy or pandas.
"""

from textclf.config.classes import from_section, settings_class
from textclf.config.dataset import dataset_labels
from textclf.config.messages import SettingsError
from textclf.config.params import (
    STAGE2_ONLY,
    baseline_params,
    card_params,
    finetune_params,
    training_params,
)
from textclf.config.record import settings_text, write_settings
from textclf.config.resolve import deep_merge, experiment_settings, member_settings
from textclf.config.schema import SCHEMA_PATH, SECTIONS, default, fill_defaults
from textclf.config.validate import check

# What the workflow tests read of the schema's sections (tests/workflow/test_reruns.py).
from textclf.config.schema import _known_keys as _known_keys  # isort: skip
from textclf.config.schema import _section_node as _section_node  # isort: skip

__all__ = [
    "SCHEMA_PATH",
    "SECTIONS",
    "STAGE2_ONLY",
    "SettingsError",
    "baseline_params",
    "card_params",
    "check",
    "dataset_labels",
    "deep_merge",
    "default",
    "experiment_settings",
    "fill_defaults",
    "finetune_params",
    "from_section",
    "member_settings",
    "settings_class",
    "settings_text",
    "training_params",
    "write_settings",
]
