"""Rule `figures`: the plots a person reads to judge an experiment, as PNG files.

Each function takes plain data (label fields, probability matrices, tables) and a path, and
writes one figure of a fixed pixel size (`SIZE` at `DPI`), so the report lays them out evenly.
`draw_all` reads an experiment's outputs and draws every figure that applies to it.
"""

from __future__ import annotations

import functools
import html
import json
import logging
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    average_precision_score,
    confusion_matrix,
    f1_score,
    multilabel_confusion_matrix,
    precision_recall_curve,
)

from textclf import thresholds  # noqa: E402
from textclf.labels import LabelSpace  # noqa: E402
from textclf.tsv import atomic_path, read_tsv, write_text  # noqa: E402

log = logging.getLogger(__name__)
DPI = 100
SIZE = (9.0, 6.0)  # inches: 900 x 600 pixels
MAX_LABELS_SHOWN = 30


def _save(fig, path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=DPI, format="png")
    plt.close(fig)


def _figure(**kwargs):
    return plt.subplots(figsize=SIZE, dpi=DPI, **kwargs)


def label_counts(fields, space: LabelSpace) -> pd.Series:
    """Occurrences of each label (of each label of a set, for multi-label) in label fields."""
    counts = Counter(label for value in fields for label in space.split(value))
    return pd.Series([counts[label] for label in space.labels], index=list(space.labels))


def class_distribution(splits: dict[str, list[str]], space: LabelSpace, path) -> None:
    """Rows per label in each split (label occurrences for multi-label), as shares."""
    table = pd.DataFrame({name: label_counts(f, space) for name, f in splits.items()})
    shares = table / table.sum()
    fig, ax = _figure()
    shares.plot.bar(ax=ax, width=0.8)
    ax.set_ylabel("share of the split's labels")
    ax.set_title(
        "Label distribution per split ("
        + ", ".join(f"{name}: {len(f)} rows" for name, f in splits.items())
        + ")"
    )
    ax.tick_params(axis="x", labelrotation=90 if len(space.labels) > 6 else 0)
    fig.tight_layout()
    _save(fig, path)


def training_curves(histories: dict[str, pd.DataFrame], path) -> None:
    """Loss (left) and validation accuracy and macro-F1 (right) per epoch, stage after stage;
    dotted lines where progressive unfreezing opened more of the model; the kept (best) epoch
    of each stage shaded."""
    fig, (loss_ax, metric_ax) = _figure(ncols=2)
    offset = 0
    for stage, history in histories.items():
        epochs = history["epoch"].astype(int) + offset
        loss_ax.plot(epochs, history["train_loss"].astype(float), "o-", label=f"{stage} train")
        loss_ax.plot(epochs, history["valid_loss"].astype(float), "s--", label=f"{stage} valid")
        for metric, style in (("valid_accuracy", "o-"), ("valid_f1_macro", "s--")):
            metric_ax.plot(
                epochs, history[metric].astype(float), style, label=f"{stage} {metric[6:]}"
            )
        best = int(epochs[history["best"].astype(str) == "True"].iloc[0])
        for ax in (loss_ax, metric_ax):
            ax.axvspan(best - 0.4, best + 0.4, color="gold", alpha=0.3)
        trainable = history["trainable"].tolist()
        for i in range(1, len(trainable)):
            if trainable[i] != trainable[i - 1]:
                for ax in (loss_ax, metric_ax):
                    ax.axvline(epochs.iloc[i] - 0.5, color="grey", linestyle=":")
                loss_ax.annotate(
                    f"open {trainable[i].replace('head+', '')}",
                    (epochs.iloc[i] - 0.45, 0),
                    xycoords=("data", "axes fraction"),
                    rotation=90,
                    fontsize=7,
                    va="bottom",
                )
        offset = int(epochs.max())
    loss_ax.set(xlabel="epoch", ylabel="loss", title="Loss")
    metric_ax.set(xlabel="epoch", ylabel="score on valid", title="Validation (kept epoch shaded)")
    loss_ax.legend(fontsize=8)
    metric_ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)


def confusion(gold, predicted, space: LabelSpace, path) -> None:
    """Single-label: counts and row-normalised matrices. Multi-label: one 2x2 matrix per label
    (rows gold absent/present, columns predicted absent/present)."""
    labels = list(space.labels)[:MAX_LABELS_SHOWN]
    if space.multi_label:
        matrices = multilabel_confusion_matrix(space.targets(gold), space.targets(predicted))
        n = len(labels)
        cols = int(np.ceil(np.sqrt(n)))
        rows = int(np.ceil(n / cols))
        fig, axes = _figure(nrows=rows, ncols=cols, squeeze=False)
        for ax, label, matrix in zip(axes.flat, labels, matrices, strict=False):
            ax.imshow(matrix, cmap="Blues")
            for (i, j), value in np.ndenumerate(matrix):
                ax.text(j, i, int(value), ha="center", va="center", fontsize=7)
            ax.set_title(label, fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
        for ax in list(axes.flat)[n:]:
            ax.axis("off")
        fig.suptitle("Per-label confusion: rows gold no/yes, columns predicted no/yes")
    else:
        counts = confusion_matrix(gold, predicted, labels=labels)
        normalised = counts / np.maximum(counts.sum(1, keepdims=True), 1)
        fig, axes = _figure(ncols=2)
        panels = [
            (axes[0], counts, "counts", "{:d}"),
            (axes[1], normalised, "share of the gold row", "{:.2f}"),
        ]
        for ax, matrix, title, fmt in panels:
            ax.imshow(matrix, cmap="Blues")
            if len(labels) <= 12:
                for (i, j), value in np.ndenumerate(matrix):
                    ax.text(j, i, fmt.format(value), ha="center", va="center", fontsize=8)
            ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=8)
            ax.set_yticks(range(len(labels)), labels, fontsize=8)
            ax.set(xlabel="predicted", ylabel="gold", title=title)
    fig.tight_layout()
    _save(fig, path)


def per_class_bars(per_class: pd.DataFrame, path) -> None:
    """Precision, recall and F1 per class, sorted by F1 (best first)."""
    table = per_class.sort_values("f1", ascending=False).head(MAX_LABELS_SHOWN)
    fig, ax = _figure()
    table.set_index("label")[["precision", "recall", "f1"]].astype(float).plot.bar(ax=ax, width=0.8)
    ax.set(ylim=(0, 1.05), ylabel="score", xlabel="", title="Per-class scores, sorted by F1")
    ax.tick_params(axis="x", labelrotation=90 if len(table) > 6 else 0)
    fig.tight_layout()
    _save(fig, path)


def scores_by_seed(scores: pd.DataFrame, metric: str, path) -> None:
    """Every model's valid score per seed (one point each, side by side) with its bootstrap
    interval, and the mean over seeds as a bar."""
    models = list(dict.fromkeys(scores["model"]))
    fig, ax = _figure()
    for x, model in enumerate(models):
        rows = scores[scores["model"] == model].reset_index(drop=True)
        ax.bar(x, rows["score"].mean(), width=0.7, color="#d9d9d9", zorder=1)
        offsets = np.linspace(-0.25, 0.25, len(rows)) if len(rows) > 1 else [0.0]
        for offset, row in zip(offsets, rows.itertuples(), strict=True):
            error = [[row.score - row.low], [row.high - row.score]]
            ax.errorbar(
                x + offset, row.score, yerr=error, fmt="o", color="#1f77b4", capsize=3, zorder=2
            )
    low = np.nanmin(scores[["low", "score"]].to_numpy(dtype=float)) if len(scores) else 0
    ax.set_xticks(range(len(models)), models, rotation=30 if len(models) > 5 else 0)
    seeds = scores["seed"].nunique()
    ax.set(
        ylim=(max(0.0, low - 0.05), 1.0),
        ylabel=f"valid {metric}",
        title=f"Every model's valid {metric}, {seeds} seed{'s' if seeds > 1 else ''}: "
        "points with their bootstrap intervals, bars the mean",
    )
    fig.tight_layout()
    _save(fig, path)


def frequency_vs_f1(per_class: pd.DataFrame, train_counts: pd.Series, path) -> None:
    """Each class's training frequency (log scale) against its F1."""
    fig, ax = _figure()
    x = train_counts.reindex(per_class["label"]).astype(float).to_numpy()
    y = per_class["f1"].astype(float).to_numpy()
    ax.scatter(x, y)
    for label, xi, yi in zip(per_class["label"], x, y, strict=True):
        ax.annotate(label, (xi, yi), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set(
        xlabel="training rows with the label (log scale)",
        ylabel="valid F1",
        ylim=(-0.05, 1.05),
        title="Label frequency against F1",
    )
    fig.tight_layout()
    _save(fig, path)


def precision_recall(gold, probabilities: np.ndarray, space: LabelSpace, path) -> None:
    """Multi-label: the micro-averaged curve over every (row, label) pair. Single-label: one
    one-vs-rest curve per class (up to 10) and the micro average."""
    targets = space.targets(gold)
    hot = targets if space.multi_label else np.eye(len(space.labels))[targets]
    fig, ax = _figure()
    precision, recall, _ = precision_recall_curve(hot.ravel(), probabilities.ravel())
    ap = average_precision_score(hot, probabilities, average="micro")
    ax.plot(recall, precision, lw=2.5, color="black", label=f"micro average (AP {ap:.3f})")
    if not space.multi_label and len(space.labels) <= 10:
        for k, label in enumerate(space.labels):
            p, r, _ = precision_recall_curve(hot[:, k], probabilities[:, k])
            class_ap = average_precision_score(hot[:, k], probabilities[:, k])
            ax.plot(r, p, lw=1, label=f"{label} (AP {class_ap:.3f})")
    ax.set(
        xlabel="recall",
        ylabel="precision",
        xlim=(0, 1),
        ylim=(0, 1.05),
        title="Precision-recall on valid",
    )
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    _save(fig, path)


def threshold_analysis(gold, probabilities: np.ndarray, space: LabelSpace, record, path) -> None:
    """Multi-label: micro and macro F1 as one global threshold moves, with the tuned global
    threshold and the per-class thresholds marked. Single-label: each class's one-vs-rest F1
    as its probability threshold moves (prediction itself takes the most probable class)."""
    grid = np.linspace(0.02, 0.98, 49)
    targets = space.targets(gold)
    fig, ax = _figure()
    if space.multi_label:
        for average in ("micro", "macro"):
            scores = [
                f1_score(targets, probabilities >= t, average=average, zero_division=0)
                for t in grid
            ]
            ax.plot(grid, scores, lw=2, label=f"{average} F1, one global threshold")
        ax.axvline(record["global"], color="red", label=f"tuned global {record['global']:.3f}")
        for value in record["per_class"].values():
            ax.axvline(value, color="grey", alpha=0.3, ymax=0.08)
        ax.plot([], [], color="grey", alpha=0.5, label="per-class thresholds (ticks)")
        ax.set_title(f"F1 against the decision threshold (prediction uses: {record['use']})")
    else:
        hot = np.eye(len(space.labels))[targets]
        for k, label in enumerate(list(space.labels)[:10]):
            scores = [f1_score(hot[:, k], probabilities[:, k] >= t, zero_division=0) for t in grid]
            ax.plot(grid, scores, label=label)
        ax.set_title(
            "One-vs-rest F1 against each class's probability threshold "
            "(prediction takes the most probable class)"
        )
    ax.set(xlabel="threshold", ylabel="F1 on valid", ylim=(0, 1.05))
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)


def labels_per_sample(gold, predicted, space: LabelSpace, path) -> None:
    """How many labels rows carry: gold against predicted."""
    counts = (
        pd.DataFrame(
            {
                "gold": pd.Series([len(space.split(v)) for v in gold]).value_counts(),
                "predicted": pd.Series([len(space.split(v)) for v in predicted]).value_counts(),
            }
        )
        .fillna(0)
        .sort_index()
    )
    fig, ax = _figure()
    counts.plot.bar(ax=ax, width=0.8)
    ax.set(xlabel="labels per row", ylabel="rows", title="Labels per sample on valid")
    ax.tick_params(axis="x", labelrotation=0)
    fig.tight_layout()
    _save(fig, path)


def embedding_map(embeddings: np.ndarray, gold, space: LabelSpace, path, seed: int = 42) -> None:
    """UMAP of sentence embeddings to 2-D, coloured by gold label (first label of a set)."""
    import umap

    neighbours = max(2, min(15, len(embeddings) - 1))
    points = umap.UMAP(n_neighbors=neighbours, random_state=seed, n_jobs=1).fit_transform(
        embeddings
    )
    first = [space.split(v)[0] for v in gold]
    fig, ax = _figure()
    cmap = plt.get_cmap("tab20" if len(space.labels) > 10 else "tab10")
    for k, label in enumerate(space.labels):
        mask = np.array([f == label for f in first])
        if mask.any():
            ax.scatter(points[mask, 0], points[mask, 1], s=8, color=cmap(k % cmap.N), label=label)
    ax.set(xticks=[], yticks=[], title="UMAP of valid sentence embeddings, coloured by gold label")
    ax.legend(fontsize=7, markerscale=2, ncol=2 if len(space.labels) > 10 else 1)
    fig.tight_layout()
    _save(fig, path)


def hardest_examples_html(hard: pd.DataFrame, path, n: int = 25, stats: dict | None = None):
    """What mining did, as an HTML page: the counts of `mine/stats.json` (rows considered,
    dropped by reason, kept as errors and as near misses) with examples of each, then the hard
    rows the stage-1 model got wrong most confidently."""
    e = html.escape
    counts = examples = ""
    if stats is not None:
        counts = "".join(
            f"<tr><td>{e(k.replace('_', ' '))}</td><td>{v}</td></tr>"
            for k, v in stats.items()
            if k != "examples"
        )
        counts = f"<h2>Counts</h2><table border='1' cellpadding='4'>{counts}</table>"
        for reason, shown in stats.get("examples", {}).items():
            if not shown:
                continue
            cells = "".join(
                "<tr>"
                + "".join(
                    f"<td>{e('' if row.get(c) is None else str(row.get(c)))}</td>"
                    for c in EXAMPLE_COLUMNS
                )
                + "</tr>"
                for row in shown
            )
            head = "".join(f"<th>{e(c.replace('_', ' '))}</th>" for c in EXAMPLE_COLUMNS)
            examples += (
                f"<h3>{e(reason.replace('_', ' '))}</h3>"
                f"<table border='1' cellpadding='4'><tr>{head}</tr>{cells}</table>"
            )
        examples = f"<h2>Examples of each</h2>{examples}" if examples else ""
    top = hard.assign(probability=hard["probability"].astype(float))
    top = top.sort_values("probability", ascending=False).head(n)
    rows = "".join(
        f"<tr><td>{e(r.text)}</td><td>{e(r.label)}</td>"
        f"<td>{e(r.predicted)}</td><td>{r.probability:.3f}</td></tr>"
        for r in top.itertuples()
    )
    write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Hardest examples</title></head>"
        f"<body>{counts}{examples}<h2>Hardest examples</h2>"
        f"<p>{len(top)} of {len(hard)} hard rows, most confident mistakes first.</p>"
        "<table border='1' cellpadding='4'><tr><th>augmented text</th><th>label</th>"
        f"<th>stage-1 prediction</th><th>probability</th></tr>{rows}</table></body></html>\n",
        path,
    )


EXAMPLE_COLUMNS = ["source_text", "text", "label", "judge_label", "source_probability", "margin"]


def sentence_embeddings(model_dir, texts, max_length: int = 128, threads: int = 1) -> np.ndarray:
    """Mean-pooled last hidden states of a saved checkpoint's encoder."""
    import torch

    from textclf.encoding import collate, encode
    from textclf.inference import Classifier

    classifier = Classifier(model_dir, threads, max_length)
    encoder = classifier.model.base_model
    encoded = encode(classifier.tokenizer, texts, max_length)
    device = next(encoder.parameters()).device
    chunks = []
    with torch.no_grad():
        for start in range(0, len(encoded), 64):
            batch = collate(encoded[start : start + 64], classifier.tokenizer.pad_token_id, device)
            hidden = encoder(**batch).last_hidden_state.float()  # bf16 where the model runs in it
            mask = batch["attention_mask"].unsqueeze(-1).float()
            chunks.append(((hidden * mask).sum(1) / mask.sum(1)).cpu().numpy())
    return np.concatenate(chunks)


class ExperimentOutputs:
    """What the figures of one experiment are drawn from, each read when first needed."""

    def __init__(self, inputs: dict, threads: int = 1, max_length: int = 128):
        self.inputs, self.threads, self.max_length = inputs, threads, max_length

    @functools.cached_property
    def space(self) -> LabelSpace:
        return LabelSpace.read(self.inputs["dataset"])

    @functools.cached_property
    def splits(self) -> dict[str, pd.DataFrame]:
        return {name: read_tsv(self.inputs[name]) for name in ("train", "valid", "test")}

    @property
    def valid(self) -> pd.DataFrame:
        return self.splits["valid"]

    @functools.cached_property
    def gold(self) -> list[str]:
        return self.valid["label"].tolist()

    @functools.cached_property
    def probabilities(self) -> np.ndarray:
        scores = read_tsv(self.inputs["probabilities"])
        return scores[list(self.space.labels)].astype(float).to_numpy()

    @functools.cached_property
    def thresholds(self) -> dict | None:
        return thresholds.load(self.inputs["model"]) if self.space.multi_label else None

    @functools.cached_property
    def predicted(self) -> list[str]:
        chosen = (
            thresholds.chosen(self.thresholds, list(self.space.labels))
            if (self.thresholds)
            else None
        )
        return thresholds.label_fields(self.space, self.probabilities, chosen)

    @functools.cached_property
    def per_class(self) -> pd.DataFrame:
        metrics = json.loads(Path(self.inputs["metrics"]).read_text())
        return pd.DataFrame(metrics["valid"]["per_class"])


DRAWERS = {
    "class_distribution": lambda d, path: class_distribution(
        {n: s["label"].tolist() for n, s in d.splits.items() if "label" in s}, d.space, path
    ),
    "training_curves": lambda d, path: training_curves(
        {Path(p).name: read_tsv(Path(p) / "history.tsv") for p in d.inputs["checkpoints"]}, path
    ),
    "confusion_matrix": lambda d, path: confusion(d.gold, d.predicted, d.space, path),
    "per_class": lambda d, path: per_class_bars(d.per_class, path),
    "frequency_vs_f1": lambda d, path: frequency_vs_f1(
        d.per_class, label_counts(d.splits["train"]["label"], d.space), path
    ),
    "precision_recall": lambda d, path: precision_recall(d.gold, d.probabilities, d.space, path),
    "threshold_analysis": lambda d, path: threshold_analysis(
        d.gold, d.probabilities, d.space, d.thresholds, path
    ),
    "labels_per_sample": lambda d, path: labels_per_sample(d.gold, d.predicted, d.space, path),
    "embedding_map": lambda d, path: embedding_map(
        sentence_embeddings(d.inputs["model"], d.valid["text"], d.max_length, d.threads),
        d.gold,
        d.space,
        path,
    ),
    "hardest_examples": lambda d, path: hardest_examples_html(
        read_tsv(d.inputs["hard"]),
        path,
        stats=json.loads(Path(d.inputs["mine_stats"]).read_text())
        if d.inputs.get("mine_stats")
        else None,
    ),
}


def draw(inputs: dict, outputs: dict, threads: int = 1, max_length: int = 128) -> None:
    """Draw every figure `outputs` names (keys of DRAWERS) for one experiment."""
    data = ExperimentOutputs(inputs, threads, max_length)
    for name, path in outputs.items():
        DRAWERS[name](data, path)
        log.info("figure %s -> %s", name, path)
