"""What a training loop decides between epochs, as small objects shared by the transformer
trainer (textclf.training) and the from-scratch baseline: early stopping, which also keeps the
best epoch's weights; the unfreezing schedules; and the callbacks that see every epoch's record
and may stop training (search pruning) or log it (tracking)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

# Called with each epoch's history record once it is validated; a true return value stops
# training after that epoch (the best epoch so far is still the one kept).
EpochCallback = Callable[[dict], bool | None]


def notify(callbacks: Iterable[EpochCallback], record: dict) -> bool:
    """Give every callback the record; True if any of them asks to stop."""
    return any([bool(callback(dict(record))) for callback in callbacks])


class EarlyStopping:
    """Stop after `patience` epochs without a better validation score; keep the best weights."""

    def __init__(self, patience: int):
        self.patience = patience
        self.best_score, self.best_epoch, self.best_state = -float("inf"), 0, None
        self.stale = 0

    def update(self, epoch: int, score: float, model) -> bool:
        """Record an epoch's score; True (and a copy of the weights) if it is the best yet."""
        if score > self.best_score:
            self.best_score, self.best_epoch, self.stale = score, epoch, 0
            self.best_state = copy.deepcopy(model.state_dict())
            return True
        self.stale += 1
        return False

    def restart(self) -> None:
        """Count patience afresh (newly opened layers deserve their own chance)."""
        self.stale = 0

    @property
    def should_stop(self) -> bool:
        return self.stale >= self.patience

    def restore(self, model) -> None:
        model.load_state_dict(self.best_state)


class Unfreezing:
    """How much of the encoder trains, as a depth: the number of encoder layers open from the
    top (one more than there are layers opens the embeddings too).

    `none`: everything trains from the start. `epoch`: `layers` more every `every` epochs.
    `plateau`: `layers` more once `patience` epochs in a row brought no improvement."""

    def __init__(
        self,
        mode: str,
        n_layers: int,
        initial: int = 0,
        layers: int = 2,
        every: int = 1,
        patience: int = 1,
    ):
        if mode not in ("none", "epoch", "plateau"):
            raise ValueError(f"unfreeze must be none, epoch or plateau, not {mode!r}")
        self.mode, self.n_layers, self.layers = mode, n_layers, layers
        self.every, self.patience = every, patience
        self.depth = n_layers + 1 if mode == "none" else initial
        self.flat_epochs = 0

    def _deeper(self) -> int:
        return min(self.depth + self.layers, self.n_layers + 1)

    def after_epoch(self, epoch: int, improved: bool) -> bool:
        """Move the depth on after an epoch; True when a plateau opened more layers."""
        if self.mode == "epoch" and epoch % self.every == 0:
            self.depth = self._deeper()
        elif self.mode == "plateau":
            self.flat_epochs = 0 if improved else self.flat_epochs + 1
            if self.flat_epochs >= self.patience and self.depth <= self.n_layers:
                self.depth, self.flat_epochs = self._deeper(), 0
                return True
        return False
