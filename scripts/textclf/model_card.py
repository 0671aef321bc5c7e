"""The `README.md` model card written into every saved transformer folder, in the Hugging Face
model-card format (a YAML header with license, tags, base model and a `model-index` of measured
metrics, then the data, labels, training settings and scores), so the folder can be pushed to a
Hub as it is. The scores are the validation scores of the kept epoch, measured during training;
`metrics/<stage>.json` holds the full evaluation.
"""

from __future__ import annotations

import json

import pandas as pd
import yaml

from textclf.labels import LabelSpace


def model_card(
    space: LabelSpace,
    history: pd.DataFrame,
    settings: dict,
    base_model: str,
    train_rows: int,
    valid_rows: int,
    card: dict | None = None,
) -> str:
    """The text of README.md. `card` may set `license`, `tags`, `language` and `dataset`."""
    card = card or {}
    best = history[history["best"]].iloc[0]
    task = "multi-label" if space.multi_label else "single-label"
    scores = {"accuracy": float(best["valid_accuracy"]), "f1": float(best["valid_f1_macro"])}
    header = {
        "license": card.get("license", "apache-2.0"),
        "language": card.get("language", ["en"]),
        "library_name": "transformers",
        "pipeline_tag": "text-classification",
        "tags": ["text-classification", task, "snakemake", *card.get("tags", [])],
        "base_model": base_model,
        "model-index": [
            {
                "name": card.get("name", "text classifier"),
                "results": [
                    {
                        "task": {
                            "type": "text-classification",
                            "name": f"{task} text classification",
                        },
                        "dataset": {
                            "name": card.get("dataset", "custom"),
                            "type": "custom",
                            "split": "validation",
                        },
                        "metrics": [
                            {
                                "type": "accuracy",
                                "value": round(scores["accuracy"], 4),
                                "name": "subset accuracy" if space.multi_label else "accuracy",
                            },
                            {"type": "f1", "value": round(scores["f1"], 4), "name": "macro F1"},
                        ],
                    }
                ],
            }
        ],
    }
    labels = "\n".join(f"- `{label}`" for label in space.labels)
    decision = (
        "Sigmoid outputs; a label is predicted when its probability reaches its threshold in "
        "`thresholds.json` (tuned on the validation split), and a row always gets at least its "
        "most probable label."
        if space.multi_label
        else "Softmax outputs; the most probable label is predicted."
    )
    usage = (
        'classify = pipeline("text-classification", model=FOLDER, top_k=None)  '
        "# scores for every label"
        if space.multi_label
        else 'classify = pipeline("text-classification", model=FOLDER)'
    )
    return f"""---
{yaml.safe_dump(header, sort_keys=False).strip()}
---

# {card.get("name", "Text classifier")}

A {task} text classifier fine-tuned from `{base_model}` by the Snakemake hard-example
fine-tuning workflow.

## Data

{card.get("dataset", "custom")}: {train_rows} training rows, {valid_rows} validation rows.

## Labels ({len(space.labels)})

{labels}

{decision}

## Training

Kept epoch {int(best["epoch"])} of {len(history)} (best validation score; the full history is
in `history.tsv`), trained in {best.get("precision", "fp32")}. Settings:

```json
{json.dumps(settings, indent=2)}
```

## Measured on the validation split

| metric | value |
|---|---|
| {header["model-index"][0]["results"][0]["metrics"][0]["name"]} | {scores["accuracy"]:.4f} |
| macro F1 | {scores["f1"]:.4f} |

## Use

```python
from transformers import pipeline

{usage}
```
"""
