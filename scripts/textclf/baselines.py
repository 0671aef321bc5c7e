"""Rules `baseline_scratch` and `baseline_tfidf`: the models a transformer has to beat.

- `scratch`: a model trained from nothing, as the IMDB-aspects study built it: a regex
  tokenizer, a vocabulary (minimum frequency, maximum size), ids padded or truncated to a fixed
  length, an embedding layer with mean pooling over the real tokens and a linear head; Adam,
  early stopping on the validation metric, the best epoch kept.
- `tfidf`: TF-IDF of word 1-2 grams and logistic regression (one per label for multi-label).

Both serve single- and multi-label tasks (multi-label thresholds are tuned on valid as for the
transformers) and save a folder that their `load` reads back: `model.pt` + `vocab.json`
(scratch) or `model.joblib` (tfidf), with the manifest (textclf.registry) describing it.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from torch import nn
from torch.nn import functional as F

from textclf import thresholds
from textclf.config import default, from_section, settings_class
from textclf.encoding import probabilities_of
from textclf.epochs import EarlyStopping, EpochCallback, notify
from textclf.labels import LabelSpace
from textclf.metrics import selection_metric
from textclf.predictor import Predictor
from textclf.registry import read_manifest, text_facts, write_manifest
from textclf.tsv import atomic_path, read_tsv, write_tsv

log = logging.getLogger(__name__)
TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")
PAD, UNK = "<pad>", "<unk>"


def tokenize(text: str) -> list[str]:
    """Lower-cased words (with an apostrophe suffix) and single punctuation marks."""
    return TOKEN.findall(text.lower())


class Vocabulary:
    def __init__(self, tokens: list[str]):
        self.tokens = tokens
        self.index = {token: i for i, token in enumerate(tokens)}

    @classmethod
    def build(cls, texts, min_freq: int = 2, max_size: int = 20000) -> Vocabulary:
        """The `max_size` most frequent tokens seen at least `min_freq` times (ties broken
        alphabetically), after <pad> and <unk>."""
        counts = Counter(token for text in texts for token in tokenize(text))
        kept = sorted(
            (t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t)
        )
        return cls([PAD, UNK, *kept[: max_size - 2]])

    def encode(self, texts, max_length: int) -> torch.Tensor:
        """Ids padded with 0 (or truncated) to `max_length`; unknown tokens are 1."""
        ids = torch.zeros((len(texts), max_length), dtype=torch.long)
        for row, text in enumerate(texts):
            tokens = [self.index.get(t, 1) for t in tokenize(text)][:max_length]
            ids[row, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
        return ids

    def __len__(self) -> int:
        return len(self.tokens)


class MeanPoolClassifier(nn.Module):
    """Embeddings averaged over the non-padding tokens, then a linear layer."""

    def __init__(self, vocab_size: int, dim: int, n_labels: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.head = nn.Linear(dim, n_labels)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = (ids != 0).unsqueeze(-1).float()
        pooled = (self.embedding(ids) * mask).sum(1) / mask.sum(1).clamp(min=1)
        return self.head(pooled)


@settings_class("baselines.scratch")
class ScratchSettings:
    min_freq: int
    max_vocab: int
    max_length: int
    embedding_dim: int
    epochs: int
    batch_size: int
    learning_rate: float
    patience: int
    seed: int = default("train.seed")


@settings_class("baselines.tfidf")
class TfidfSettings:
    max_features: int
    min_df: int
    C: float
    max_iter: int
    seed: int = default("train.seed")


class ScratchModel(Predictor):
    def __init__(
        self,
        vocab: Vocabulary,
        network: MeanPoolClassifier,
        space: LabelSpace,
        settings: ScratchSettings,
    ):
        self.vocab, self.network, self.space, self.settings = vocab, network, space, settings

    @torch.no_grad()
    def probabilities(self, texts) -> np.ndarray:
        self.network.eval()
        logits = self.network(self.vocab.encode(list(texts), self.settings.max_length))
        return probabilities_of(logits, self.space)

    def parameters(self) -> int:
        return sum(p.numel() for p in self.network.parameters())

    def save(self, folder: Path) -> None:
        torch.save(self.network.state_dict(), folder / "model.pt")
        (folder / "vocab.json").write_text(json.dumps(self.vocab.tokens))

    @classmethod
    def load(cls, folder, threads: int = 1, max_length: int = 128) -> ScratchModel:
        torch.set_num_threads(threads)
        folder, record = Path(folder), read_manifest(folder)
        space = LabelSpace.from_json(record["label_space"])
        settings = ScratchSettings(**record["settings"])
        vocab = Vocabulary(json.loads((folder / "vocab.json").read_text()))
        network = MeanPoolClassifier(len(vocab), settings.embedding_dim, len(space.labels))
        network.load_state_dict(torch.load(folder / "model.pt", weights_only=True))
        model = cls(vocab, network, space, settings)
        model.load_thresholds(folder)
        return model


def train_scratch(
    train_rows,
    valid_rows,
    space: LabelSpace,
    settings: ScratchSettings,
    metric: str,
    threads: int = 1,
    callbacks: list[EpochCallback] = (),
) -> tuple[ScratchModel, pd.DataFrame]:
    torch.set_num_threads(threads)
    torch.manual_seed(settings.seed)
    vocab = Vocabulary.build(train_rows["text"], settings.min_freq, settings.max_vocab)
    network = MeanPoolClassifier(len(vocab), settings.embedding_dim, len(space.labels))
    model = ScratchModel(vocab, network, space, settings)
    ids = vocab.encode(list(train_rows["text"]), settings.max_length)
    targets = torch.tensor(space.targets(train_rows["label"]))
    loss_of = F.binary_cross_entropy_with_logits if space.multi_label else F.cross_entropy
    optimizer = torch.optim.Adam(network.parameters(), lr=settings.learning_rate)
    generator = torch.Generator().manual_seed(settings.seed)
    stopping = EarlyStopping(settings.patience)
    history = []
    for epoch in range(1, settings.epochs + 1):
        network.train()
        order = torch.randperm(len(ids), generator=generator)
        total = 0.0
        for start in range(0, len(order), settings.batch_size):
            batch = order[start : start + settings.batch_size]
            loss = loss_of(network(ids[batch]), targets[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        probabilities = model.probabilities(valid_rows["text"])
        score = thresholds.score_on_valid(space, probabilities, valid_rows["label"], metric)[metric]
        stopping.update(epoch, score, network)
        history.append({"epoch": epoch, "train_loss": total / len(ids), f"valid_{metric}": score})
        if notify(callbacks, history[-1]) or stopping.should_stop:
            break
    stopping.restore(network)
    frame = pd.DataFrame(history)
    frame["best"] = frame["epoch"] == stopping.best_epoch
    log.info("scratch: vocabulary %d, best valid %s %.4f", len(vocab), metric, stopping.best_score)
    return model, frame


class TfidfModel(Predictor):
    def __init__(self, pipeline, space: LabelSpace):
        self.pipeline, self.space = pipeline, space

    def probabilities(self, texts) -> np.ndarray:
        vectorizer, classifier = self.pipeline
        return classifier.predict_proba(vectorizer.transform(list(texts)))

    def parameters(self) -> int:
        _, classifier = self.pipeline
        estimators = getattr(classifier, "estimators_", [classifier])
        return int(sum(e.coef_.size + e.intercept_.size for e in estimators))

    def save(self, folder: Path) -> None:
        joblib.dump(self.pipeline, folder / "model.joblib")

    @classmethod
    def load(cls, folder, threads: int = 1, max_length: int = 128) -> TfidfModel:
        space = LabelSpace.from_json(read_manifest(folder)["label_space"])
        model = cls(joblib.load(Path(folder) / "model.joblib"), space)
        model.load_thresholds(folder)
        return model


def train_tfidf(train_rows, space: LabelSpace, settings: TfidfSettings) -> TfidfModel:
    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2),
        min_df=settings.min_df,
        max_features=settings.max_features,
        sublinear_tf=True,
    )
    features = vectorizer.fit_transform(train_rows["text"])
    logistic = LogisticRegression(
        C=settings.C, max_iter=settings.max_iter, random_state=settings.seed
    )
    classifier = OneVsRestClassifier(logistic) if space.multi_label else logistic
    targets = space.targets(train_rows["label"])
    classifier.fit(features, targets)
    return TfidfModel((vectorizer, classifier), space)


def run_baseline(
    kind: str,
    train_tsv,
    valid_tsv,
    dataset_json,
    settings: dict,
    out_dir,
    metric: str = "auto",
    threads: int = 1,
) -> None:
    """Train one baseline and save its folder (with thresholds.json for multi-label)."""
    space = LabelSpace.read(dataset_json)
    train_rows, valid_rows = read_tsv(train_tsv), read_tsv(valid_tsv)
    metric = selection_metric(metric, space)
    started = time.perf_counter()
    history = None
    if kind == "scratch":
        config = from_section(ScratchSettings, settings, "baselines.scratch")
        model, history = train_scratch(train_rows, valid_rows, space, config, metric, threads)
    else:
        config = from_section(TfidfSettings, settings, "baselines.tfidf")
        model = train_tfidf(train_rows, space, config)
    seconds = time.perf_counter() - started
    record = None
    if space.multi_label:
        probabilities = model.probabilities(valid_rows["text"])
        gold = space.targets(valid_rows["label"]) > 0
        record = thresholds.tune(probabilities, gold, list(space.labels), "per_class")
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        model.save(tmp)
        write_manifest(
            tmp,
            kind,
            model.parameters(),
            seconds,
            label_space=space.to_json(),
            settings=asdict(config),
            preprocess=text_facts(dataset_json)["preprocess"],
        )
        if history is not None:
            write_tsv(history.astype(str), tmp / "history.tsv")
        if record is not None:
            thresholds.save(record, tmp)
    log.info("%s baseline: %d parameters, trained in %.1f s", kind, model.parameters(), seconds)
