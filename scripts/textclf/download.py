"""Rule `download_<experiment>`: fetch a public dataset's original files, check their
checksums, and write them in this workflow's layout (`train.tsv`, [`valid.tsv`,] `test.tsv` with
columns id, text, label or labels).

Each file is given as `{url, checksum: "sha256:<hex>"}` (any hashlib algorithm may prefix the
hex). A file whose checksum differs is an error naming the URL and both digests, and nothing is
written. `format` says how to read the originals:

- `goemotions`: google-research TSVs (text, comma-separated label ids, comment id; no header)
  plus `labels` = emotions.txt; writes id, text, labels (names, comma-separated).
- `ag_news_csv`: the Char-CNN CSVs ("class","title","description", class 1-4); text is
  title + " " + description, labels World, Sports, Business, Sci/Tech.
- `aspect_csv`: CSVs with a header `review,aspect,...`; text = review, label = aspect.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
import urllib.request
from pathlib import Path

import pandas as pd

from textclf.logs import Progress
from textclf.tsv import DataError, write_tsv

log = logging.getLogger(__name__)
AG_NEWS_CLASSES = {"1": "World", "2": "Sports", "3": "Business", "4": "Sci/Tech"}


def fetch(url: str, checksum: str, timeout: float = 120.0) -> bytes:
    """The bytes at `url`, or DataError if their digest is not `checksum`."""
    algorithm, _, expected = checksum.partition(":")
    if algorithm not in hashlib.algorithms_available or not expected:
        raise DataError(f"{url}: checksum {checksum!r} is not '<algorithm>:<hex digest>'")
    log.info("downloading %s", url)
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (config URLs)
        size = int(response.headers.get("Content-Length") or 0)
        progress = Progress("download", -(-size // 1024), "kB", at_least=1) if size else None
        chunks, received = [], 0
        while chunk := response.read(1 << 20):
            chunks.append(chunk)
            if progress:  # in whole kB, so the last chunk ends at the total
                progress.advance(-(-(received + len(chunk)) // 1024) - -(-received // 1024))
            received += len(chunk)
        data = b"".join(chunks)
    actual = hashlib.new(algorithm, data).hexdigest()
    if actual != expected.lower():
        raise DataError(
            f"{url}: {algorithm} is {actual}, the config expects {expected} "
            f"({len(data)} bytes received; the file changed or the download was cut)"
        )
    return data


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _goemotions(raw: dict[str, bytes]) -> dict[str, pd.DataFrame]:
    names = raw.pop("labels").decode("utf-8").split()
    tables = {}
    for split, data in raw.items():
        rows = list(
            csv.reader(io.StringIO(data.decode("utf-8")), delimiter="\t", quoting=csv.QUOTE_NONE)
        )
        tables[split] = pd.DataFrame(
            {
                "id": [row[2] for row in rows],
                "text": [_one_line(row[0]) for row in rows],
                "labels": [",".join(names[int(i)] for i in row[1].split(",")) for row in rows],
            }
        )
    return tables


def _ag_news(raw: dict[str, bytes]) -> dict[str, pd.DataFrame]:
    tables = {}
    for split, data in raw.items():
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
        tables[split] = pd.DataFrame(
            {
                "id": [f"{split}-{n:06d}" for n in range(1, len(rows) + 1)],
                "text": [_one_line(f"{title} {description}") for _, title, description in rows],
                "label": [AG_NEWS_CLASSES[row[0]] for row in rows],
            }
        )
    return tables


def _aspect_csv(raw: dict[str, bytes]) -> dict[str, pd.DataFrame]:
    tables = {}
    for split, data in raw.items():
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
        tables[split] = pd.DataFrame(
            {
                "id": [f"{split}-{n:06d}" for n in range(1, len(frame) + 1)],
                "text": frame["review"].map(_one_line),
                "label": frame["aspect"].str.strip(),
            }
        )
    return tables


FORMATS = {"goemotions": _goemotions, "ag_news_csv": _ag_news, "aspect_csv": _aspect_csv}


def download_dataset(spec: dict, outputs: dict[str, str | Path], timeout: float = 120.0) -> None:
    """Fetch and check every file of `spec` first, then convert and write `outputs[split]`."""
    if spec["format"] not in FORMATS:
        raise DataError(f"download format must be one of {sorted(FORMATS)}, not {spec['format']!r}")
    raw = {
        role: fetch(entry["url"], entry["checksum"], timeout)
        for role, entry in spec["files"].items()
    }
    tables = FORMATS[spec["format"]](raw)
    for split, frame in tables.items():
        write_tsv(frame, outputs[split])
        log.info("%s: %d rows -> %s", split, len(frame), outputs[split])
