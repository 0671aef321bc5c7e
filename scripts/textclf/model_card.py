"""The `README.md` model card written into every saved transformer folder, built with
huggingface_hub's `ModelCard` and `ModelCardData` (license, tags, the encoder's Hub id as
`base_model` and a `model-index` of measured metrics), then the data, labels, the preprocessing
a `pipeline()` user must apply, training settings and scores, so the folder can be pushed to a
Hub as it is. The scores are the validation scores of the kept epoch, measured during training;
`metrics/<stage>.json` holds the full evaluation.
"""

from __future__ import annotations

import json

import pandas as pd
from huggingface_hub import EvalResult, ModelCard, ModelCardData

from textclf.labels import LabelSpace

PREPROCESSING = {
    "tweet": (
        "Trained on texts normalised with `data.preprocess: tweet`: user mentions became "
        "`@USER`, links `HTTPURL`, emoji their names in words, HTML entities were unescaped and "
        "runs of whitespace collapsed. `pipeline()` does not do this: normalise each text first "
        "(`from textclf.preprocess import normalise_tweet`), or label texts with `python -m "
        "textclf predict --model FOLDER`, which reads this folder's `manifest.json` and "
        "normalises them itself."
    ),
    "none": "Trained on texts as they are: no preprocessing to apply.",
}


def model_card(
    space: LabelSpace,
    history: pd.DataFrame,
    settings: dict,
    origin: str,
    base_model: str | None,
    text: dict,
    train_rows: int,
    valid_rows: int,
    card: dict | None = None,
) -> str:
    """The text of README.md. `origin` says in words what the model was trained from,
    `base_model` is the encoder's Hub id (None for a local folder), `text` the manifest's text
    facts (registry.text_facts). `card` may set `name`, `license`, `tags`, `language` and
    `dataset`."""
    card = card or {}
    best = history[history["best"]].iloc[0]
    task = "multi-label" if space.multi_label else "single-label"
    name = card.get("name", "Text classifier")
    dataset = card.get("dataset", "custom")
    accuracy_name = "subset accuracy" if space.multi_label else "accuracy"
    scores = {
        ("accuracy", accuracy_name): float(best["valid_accuracy"]),
        ("f1", "macro F1"): float(best["valid_f1_macro"]),
    }
    data = ModelCardData(
        license=card.get("license", "apache-2.0"),
        language=card.get("language", ["en"]),
        library_name="transformers",
        pipeline_tag="text-classification",
        tags=["text-classification", task, "snakemake", *card.get("tags", [])],
        base_model=base_model,
        model_name=name,
        eval_results=[
            EvalResult(
                task_type="text-classification",
                task_name=f"{task} text classification",
                dataset_type="custom",
                dataset_name=dataset,
                dataset_split="validation",
                metric_type=metric,
                metric_name=metric_name,
                metric_value=round(value, 4),
            )
            for (metric, metric_name), value in scores.items()
        ],
    )
    labels = "\n".join(f"- `{label}`" for label in space.labels)
    decision = (
        "Sigmoid outputs; a label is predicted when its probability reaches its threshold in "
        "`thresholds.json` (tuned on the validation split), and a row always gets at least its "
        "most probable label."
        if space.multi_label
        else "Softmax outputs; the most probable label is predicted."
    )
    top_k = ", top_k=None)  # scores for every label" if space.multi_label else ")"
    rows = "\n".join(
        f"| {metric_name} | {value:.4f} |" for (_, metric_name), value in scores.items()
    )
    body = f"""
# {name}

A {task} text classifier: {origin}, by the Snakemake hard-example fine-tuning workflow.

## Data

{dataset}: {train_rows} training rows, {valid_rows} validation rows.

## Labels ({len(space.labels)})

{labels}

{decision}

## Preprocessing

{PREPROCESSING[text["preprocess"]]} Texts longer than {text["max_length"]} tokens are cut to
that length (the tokenizer's `model_max_length`; pass `truncation=True` to `pipeline()`).

## Training

Kept epoch {int(best["epoch"])} of {len(history)} (best validation score; the full history is
in `history.tsv`), trained in {best.get("precision", "fp32")}. Settings:

```json
{json.dumps(settings, indent=2)}
```

## Measured on the validation split

| metric | value |
|---|---|
{rows}

## Use

```python
from transformers import pipeline

classify = pipeline("text-classification", model=FOLDER, truncation=True{top_k}
```
"""
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n{body}"))
