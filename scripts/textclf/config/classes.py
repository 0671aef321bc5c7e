"""The settings-class factory: dataclasses of a config section whose fields default to the
schema's defaults, and building one from a section without letting a misspelt key pass."""

from __future__ import annotations

import copy
import dataclasses

from textclf.config.schema import default


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
