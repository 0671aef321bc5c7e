"""Config sections as typed settings: one conversion for every section a stage reads."""

from __future__ import annotations

from dataclasses import fields


def from_section(cls, section: dict | None, what: str):
    """The dataclass `cls` from a config section. A key `cls` does not know is an error naming
    the section (`what`), so a misspelt setting never passes silently as its default."""
    section = section or {}
    unknown = set(section) - {f.name for f in fields(cls)}
    if unknown:
        raise ValueError(f"unknown {what} settings: {', '.join(sorted(unknown))}")
    return cls(**section)
