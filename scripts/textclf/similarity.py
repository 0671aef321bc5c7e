"""Semantic filter for LLM rewrites: cosine similarity of mean-pooled sentence embeddings.

Uses the packaged all-MiniLM-L6-v2 (a sentence-embedding model), so it needs no network. A
rewrite whose similarity to its source lies above the band is a near-copy, below it has drifted.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F
from transformers import AutoModel, AutoTokenizer

from textclf.logs import Progress
from textclf.modeling import resolve_model


class SentenceEncoder:
    def __init__(self, name: str = "all-MiniLM-L6-v2", threads: int = 1, batch_size: int = 64):
        torch.set_num_threads(threads)
        source = resolve_model(name)
        self.tokenizer = AutoTokenizer.from_pretrained(source)
        self.model = AutoModel.from_pretrained(source).eval()
        self.batch_size = batch_size

    @torch.no_grad()
    def embed(self, texts: list[str]) -> torch.Tensor:
        """Unit-length mean-pooled embeddings, one row per text; ten or more batches log their
        progress."""
        parts = []
        tracker = Progress("similarity", len(texts), "texts", at_least=10 * self.batch_size)
        for start in range(0, len(texts), self.batch_size):
            batch = self.tokenizer(
                texts[start : start + self.batch_size],
                padding=True,
                truncation=True,
                max_length=256,
                return_tensors="pt",
            )
            hidden = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            parts.append(F.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1))
            tracker.advance(len(batch["input_ids"]))
        return torch.cat(parts) if parts else torch.empty((0, 0))

    def similarity(self, sources: list[str], rewrites: list[str]) -> list[float]:
        """Cosine similarity of each rewrite to its source."""
        if not sources:
            return []
        return (self.embed(sources) * self.embed(rewrites)).sum(-1).tolist()
