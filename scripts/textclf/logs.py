"""Logging for rule scripts: to the rule's log file and to stderr."""

import logging


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
    # The openai client logs request URLs and headers at DEBUG; keep it at WARNING.
    for noisy in ("httpx", "httpx2", "openai", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
