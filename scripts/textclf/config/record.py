"""The record of an experiment's resolved settings: results/<experiment>/settings.yaml."""

from __future__ import annotations

import yaml


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
