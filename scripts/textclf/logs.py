"""Logging for rule scripts: to the rule's log file and to stderr, uncaught errors included.
Under torchrun, rank 0 adds to the log file and every other rank writes `<log>.rank<N>`."""

import logging
import os
import sys
import time

from textclf.tsv import DataError


def _log_uncaught(kind, error, trace):
    if issubclass(kind, DataError):  # the user's input or setup: one line says it all
        logging.getLogger("textclf").error("%s: %s", kind.__name__, error)
    else:
        logging.getLogger("textclf").critical("failed", exc_info=(kind, error, trace))


def environment() -> tuple[int, int]:
    """(rank, world size) as torchrun sets them; (0, 1) outside torchrun."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def setup_logging(path=None) -> None:
    rank, size = environment()
    handlers = [logging.StreamHandler()]
    if path and size == 1:
        handlers.append(logging.FileHandler(path, mode="w"))
    elif path:  # rank 0 continues the launcher's log
        named = path if rank == 0 else f"{path}.rank{rank}"
        handlers.append(logging.FileHandler(named, mode="a" if rank == 0 else "w"))
    where = f" rank {rank}" if size > 1 else ""
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s" + where + " %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    sys.excepthook = _log_uncaught
    # HTTP clients log every request; keep them at WARNING.
    for noisy in ("httpx", "httpx2", "openai", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class Progress:
    """A log line at every tenth of `total` items done, and at the end: how many, the items
    per second and the time left. Items done `free` (a journal's answers) count as done but not
    in the rate; `detail` adds counts of their own in brackets. Work of fewer than `at_least`
    items stays quiet."""

    def __init__(self, what: str, total: int, unit: str = "rows", at_least: int = 1):
        self.what, self.total, self.unit = what, total, unit
        self.quiet = total < at_least
        self.done, self.timed, self.every = 0, 0, max(1, total // 10)
        self.started = time.monotonic()

    def advance(self, count: int, free: bool = False, detail: str = "") -> None:
        before, self.done = self.done, self.done + count
        self.timed += 0 if free else count
        if self.quiet or (
            self.done // self.every == before // self.every and self.done < self.total
        ):
            return
        rate = self.timed / max(time.monotonic() - self.started, 1e-9)
        remaining = max(self.total - self.done, 0)
        left = remaining / rate if rate else (0.0 if not remaining else float("nan"))
        logging.getLogger("textclf").info(
            "%s: %d/%d %s%s, %.1f %s/s, about %s left",
            self.what,
            self.done,
            self.total,
            self.unit,
            f" ({detail})" if detail else "",
            rate,
            self.unit,
            "?" if left != left else f"{left / 60:.1f} min" if left >= 60 else f"{left:.0f} s",
        )
