"""Shared fixtures: a tiny randomly initialised BERT (no download) and small labelled rows."""

import functools
import os
import re
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest
from transformers import BertConfig, BertModel, BertTokenizer

from textclf.distributed import free_port  # noqa: F401  (for the tests)

REPO = Path(__file__).resolve().parents[1]

# snakemake-executor-plugin-slurm asks `scontrol show config` whenever Snakemake starts, with any
# executor. Where Slurm's client has a slurm.conf but no controller runs (a machine that ran
# .ci/slurm_up.sh before), scontrol retries for 9 s on every start. Unless the CI cluster is up,
# the tests run as on a machine without Slurm configured: an empty slurm.conf fails at once.
if not Path("/run/slurm-ci/slurmctld.pid").exists():
    os.environ.setdefault("SLURM_CONF", os.devnull)
DEMO = REPO / "data" / "example"
EMOTIONS = REPO / "data" / "example_emotions"


def demo_rows(split: str) -> pd.DataFrame:
    from textclf.tsv import read_tsv

    return read_tsv(DEMO / f"{split}.tsv")


def demo_words() -> list[str]:
    """Every word and punctuation mark of the demos' texts, lower-cased, sorted: the
    vocabulary of the tiny test encoders."""
    from textclf.tsv import read_tsv

    words = set()
    for path in sorted((REPO / "data").glob("*/*.tsv")):
        for text in read_tsv(path)["text"]:
            words.update(re.findall(r"\w+|[^\w\s]", text.lower()))
    return sorted(words)


def build_tiny_bert(folder: Path, layers: int = 2) -> Path:
    """A 2-layer, hidden-32 BERT with random weights and a vocabulary of the demos' words."""
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *demo_words()]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizer(str(folder / "vocab.txt"))
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_bert_4layers(tmp_path_factory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert-4"), layers=4)


@pytest.fixture()
def serve_files(tmp_path):
    """serve_files({name: text}) starts an HTTP server on 127.0.0.1 serving those files and
    returns its base URL; every server stops after the test."""
    servers = []

    def serve(files: dict[str, str]) -> str:
        root = tmp_path / f"www{len(servers)}"
        root.mkdir()
        for name, content in files.items():
            (root / name).write_text(content, encoding="utf-8")
        handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield serve
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()
