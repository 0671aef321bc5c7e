"""Logging for rule scripts: to the rule's log file and to stderr, uncaught errors included."""

import logging
import sys

from textclf.tsv import DataError


def _log_uncaught(kind, error, trace):
    if issubclass(kind, DataError):  # the user's input or setup: one line says it all
        logging.getLogger("textclf").error("%s: %s", kind.__name__, error)
    else:
        logging.getLogger("textclf").critical("failed", exc_info=(kind, error, trace))


def setup_logging(path=None) -> None:
    handlers = [logging.StreamHandler()]
    if path:
        handlers.append(logging.FileHandler(path, mode="w"))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    sys.excepthook = _log_uncaught
    # HTTP clients log every request; keep them at WARNING.
    for noisy in ("httpx", "httpx2", "openai", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
