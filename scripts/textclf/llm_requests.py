"""Reliable LLM calls: retries with back-off, a request-rate cap, and a resumable journal.

Transient failures (429, 500/502/503/504, time-outs, refused or dropped connections) are retried
with exponential back-off and jitter, honouring `Retry-After`. Failures retrying cannot fix
(401, 403, 400, unknown model) raise `FatalLLMError` at once. Every successful reply is appended
to a JSONL journal as it arrives, keyed by a hash of the request, so a rerun never pays for a
request that already succeeded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import threading
import time
from pathlib import Path

import openai

log = logging.getLogger(__name__)
RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504}


class FatalLLMError(RuntimeError):
    """An error no retry can fix; the message names endpoint and model, never the key."""


class TransientLLMError(RuntimeError):
    """Retries ran out on errors that might have passed."""


def request_key(payload: dict) -> str:
    """A stable hash of everything that shapes a reply (endpoint, model, messages, sampling)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def redact(text: str, secret: str | None) -> str:
    """Remove the key, its fragments, and masked keys (`sk-****abcd`) that providers echo."""
    if secret:
        for part in (secret, secret[:8], secret[-8:]):
            if len(part) >= 6:
                text = text.replace(part, "[redacted]")
    text = re.sub(r"\S*\*{3,}\S*", "[redacted]", text)
    text = re.sub(r"\bsk-[A-Za-z0-9_\-]{6,}", "[redacted]", text)
    return re.sub(r"Bearer\s+\S+", "Bearer [redacted]", text)


class RateLimiter:
    """Spaces request starts at least 60/rpm seconds apart across threads (None: no cap)."""

    def __init__(self, requests_per_minute: float | None):
        self.interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self.lock, self.next_start = threading.Lock(), 0.0

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next_start)
            self.next_start = start + self.interval
        time.sleep(max(0.0, start - now))


def retry_after_seconds(error: openai.APIStatusError) -> float | None:
    value = error.response.headers.get("retry-after") if error.response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def call_with_retries(
    send,
    *,
    max_retries: int,
    describe: str,
    secret: str | None,
    limiter: RateLimiter,
    base_delay: float = 1.0,
    max_delay: float = 60.0,
):
    """Call `send()` until it succeeds; retry transient failures up to `max_retries` times."""
    for attempt in range(max_retries + 1):
        limiter.wait()
        try:
            return send()
        except openai.APIStatusError as error:
            if error.status_code not in RETRYABLE_STATUS:
                raise FatalLLMError(
                    f"{describe}: HTTP {error.status_code}: {redact(str(error.message), secret)}"
                ) from None
            reason, delay = f"HTTP {error.status_code}", retry_after_seconds(error)
        except openai.APITimeoutError:
            reason, delay = "timeout", None
        except openai.APIConnectionError:
            reason, delay = "connection error", None
        if attempt == max_retries:
            raise TransientLLMError(reason)
        if delay is None:
            delay = min(max_delay, base_delay * 2**attempt) * random.uniform(0.5, 1.0)
        log.info("%s: %s, retry %d/%d in %.1f s", describe, reason, attempt + 1, max_retries, delay)
        time.sleep(delay)


class Journal:
    """Append-only JSONL of successful replies, flushed line by line; safe across threads."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.replies: dict[str, str] = {}
        text = self.path.read_text(encoding="utf-8") if self.path.exists() else ""
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by a kill
                continue
            self.replies[entry["key"]] = entry["reply"]
        self.lock = threading.Lock()
        self.file = open(self.path, "a", encoding="utf-8")
        if text and not text.endswith("\n"):
            self.file.write("\n")  # end a line a kill cut short, so the next one parses

    def record(self, key: str, source_id: str, variant: int, reply: str) -> None:
        line = json.dumps(
            {"key": key, "source_id": source_id, "variant": variant, "reply": reply},
            ensure_ascii=False,
        )
        with self.lock:
            self.replies[key] = reply
            self.file.write(line + "\n")
            self.file.flush()

    def close(self) -> None:
        self.file.close()
