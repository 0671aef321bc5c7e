"""The wording of configuration mistakes: SettingsError, and a jsonschema error put in one
line naming the key path, the problem and, for a misspelt key or value, the closest valid
name; what a setting allows, in words."""

from __future__ import annotations

import difflib
import reprlib

from textclf.config.schema import _deref, _known_keys


class SettingsError(ValueError):
    """A configuration mistake, in one line: key path, problem, closest valid name."""


def _unknown_keys(error) -> list[str]:
    known = _known_keys(error.schema)
    return sorted(key for key in error.instance if key not in known)


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
