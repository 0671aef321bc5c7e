"""Every figure function on small hand-made inputs: a non-empty PNG of the expected size."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from textclf import figures
from textclf.labels import MULTI, LabelSpace

SINGLE = LabelSpace(("a", "b", "c"))
MULTI_SPACE = LabelSpace(("joy", "fear", "anger"), MULTI)
GOLD = ["a", "b", "c", "a", "b", "c", "a", "a"]
PREDICTED = ["a", "b", "b", "a", "c", "c", "a", "b"]
GOLD_SETS = ["anger,joy", "fear", "joy", "anger", "fear,joy", "joy"]
PREDICTED_SETS = ["joy", "fear", "joy", "anger,fear", "fear,joy", "anger,joy"]
RNG = np.random.default_rng(0)


def probabilities(n, k):
    scores = RNG.random((n, k))
    return scores / scores.sum(1, keepdims=True)


def history(epochs: int, opened_at: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "epoch": range(1, epochs + 1),
            "train_loss": np.linspace(0.7, 0.2, epochs),
            "valid_loss": np.linspace(0.6, 0.4, epochs),
            "valid_accuracy": np.linspace(0.6, 0.9, epochs),
            "valid_f1_macro": np.linspace(0.5, 0.85, epochs),
            "trainable": [
                "head" if e < opened_at else "head+layers 4-5" for e in range(1, epochs + 1)
            ],
            "best": [e == epochs - 1 for e in range(1, epochs + 1)],
        }
    )


PER_CLASS = pd.DataFrame(
    {
        "label": ["a", "b", "c"],
        "precision": [0.9, 0.5, 0.7],
        "recall": [0.8, 0.6, 0.4],
        "f1": [0.85, 0.55, 0.5],
        "support": [3, 2, 3],
    }
)
RECORD = {"use": "per_class", "global": 0.4, "per_class": {"joy": 0.3, "fear": 0.5, "anger": 0.6}}

DRAWINGS = {
    "class_distribution": lambda p: figures.class_distribution(
        {"train": GOLD, "valid": GOLD[:5]}, SINGLE, p
    ),
    "class_distribution_multi": lambda p: figures.class_distribution(
        {"train": GOLD_SETS}, MULTI_SPACE, p
    ),
    "training_curves": lambda p: figures.training_curves(
        {"stage1": history(4, 3), "finetuned": history(2, 9)}, p
    ),
    "confusion": lambda p: figures.confusion(GOLD, PREDICTED, SINGLE, p),
    "confusion_multi": lambda p: figures.confusion(GOLD_SETS, PREDICTED_SETS, MULTI_SPACE, p),
    "per_class": lambda p: figures.per_class_bars(PER_CLASS, p),
    "frequency_vs_f1": lambda p: figures.frequency_vs_f1(
        PER_CLASS, pd.Series({"a": 400, "b": 30, "c": 5}), p
    ),
    "precision_recall": lambda p: figures.precision_recall(
        GOLD, probabilities(len(GOLD), 3), SINGLE, p
    ),
    "precision_recall_multi": lambda p: figures.precision_recall(
        GOLD_SETS, RNG.random((6, 3)), MULTI_SPACE, p
    ),
    "threshold_analysis": lambda p: figures.threshold_analysis(
        GOLD, probabilities(len(GOLD), 3), SINGLE, None, p
    ),
    "threshold_analysis_multi": lambda p: figures.threshold_analysis(
        GOLD_SETS, RNG.random((6, 3)), MULTI_SPACE, RECORD, p
    ),
    "labels_per_sample": lambda p: figures.labels_per_sample(
        GOLD_SETS, PREDICTED_SETS, MULTI_SPACE, p
    ),
    "embedding_map": lambda p: figures.embedding_map(RNG.random((40, 8)), GOLD * 5, SINGLE, p),
}


@pytest.mark.parametrize("name", sorted(DRAWINGS))
def test_figure_is_a_png_of_the_fixed_size(tmp_path, name):
    path = tmp_path / f"{name}.png"
    DRAWINGS[name](path)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (900, 600)
        colours = image.convert("L").getextrema()
    assert colours[0] < 100 < colours[1]  # something is drawn on the white canvas


def test_hardest_examples_table_lists_confident_mistakes_first(tmp_path):
    hard = pd.DataFrame(
        {
            "text": ["x <b>", "y", "z"],
            "label": ["a", "b", "a"],
            "predicted": ["b", "a", "b"],
            "probability": ["0.61", "0.97", "0.80"],
        }
    )
    path = tmp_path / "hard.html"
    figures.hardest_examples_html(hard, path, n=2)
    page = path.read_text()
    assert page.index("<td>y</td>") < page.index("<td>z</td>")
    assert "x &lt;b&gt;" not in page  # only the two most confident
    assert "2 of 3 hard rows" in page


def test_hardest_examples_page_shows_what_mining_dropped_and_kept(tmp_path):
    hard = pd.DataFrame({"text": ["y"], "label": ["a"], "predicted": ["b"], "probability": ["0.9"]})
    stats = {
        "considered": 5,
        "dropped_facts": 3,
        "kept_errors": 1,
        "examples": {
            "facts": [{"source_text": "4,591 died", "text": "many died <i>", "label": "a"}],
            "error": [],
        },
    }
    path = tmp_path / "hard.html"
    figures.hardest_examples_html(hard, path, stats=stats)
    page = path.read_text()
    assert "<td>dropped facts</td><td>3</td>" in page and "<td>kept errors</td><td>1</td>" in page
    assert "<h3>facts</h3>" in page and "<td>4,591 died</td>" in page
    assert "many died &lt;i&gt;" in page and "<h3>error</h3>" not in page  # none to show


def test_the_hardest_examples_job_reads_only_the_mined_rows(tmp_path):
    # The rule's only input is misclassified.tsv: drawing must not touch the splits.
    hard = pd.DataFrame({"text": ["y"], "label": ["a"], "predicted": ["b"], "probability": ["0.9"]})
    hard.to_csv(tmp_path / "misclassified.tsv", sep="\t", index=False)
    out = tmp_path / "hard.html"
    figures.draw({"hard": str(tmp_path / "misclassified.tsv")}, {"hardest_examples": str(out)})
    assert "<td>y</td>" in out.read_text()
