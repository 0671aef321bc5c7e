"""docs/settings.md, generated from the schema: every setting with its default, allowed values
and meaning. Regenerate it with `python -m textclf.config.docs > docs/settings.md` (or
`python -m textclf.config`)."""

from __future__ import annotations

import json

from textclf.config.messages import _allowed
from textclf.config.schema import SECTIONS, VALUES, _deref, schema


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

    for section in (*VALUES, *SECTIONS):
        node = _deref(schema()["$defs"][section])
        lines += [f"## {section}", "", node.get("description", "").strip(), ""]
        lines += ["| key | default | allowed | meaning |", "|---|---|---|---|"]
        if section in VALUES:
            shown, meaning = json.dumps(node["default"]), " ".join(node["description"].split())
            lines.append(f"| `{section}` | `{shown}` | {_allowed(node)} | {meaning} |")
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


def main() -> None:
    """Print docs/settings.md."""
    print(reference(), end="")


if __name__ == "__main__":
    main()
