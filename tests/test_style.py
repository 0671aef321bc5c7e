"""Lint and format: ruff for Python, snakefmt for the Snakefile and rules (pyproject.toml)."""

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

BIN = Path(sys.executable).parent
CHECKS = {
    "ruff check": [BIN / "ruff", "check", "scripts", "tests", "bench"],
    "ruff format": [BIN / "ruff", "format", "--check", "scripts", "tests", "bench"],
    "snakefmt": [BIN / "snakefmt", "--check", "Snakefile", "rules"],
}


@pytest.mark.parametrize("name", CHECKS)
def test_code_is_linted_and_formatted(name):
    result = subprocess.run(CHECKS[name], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{name}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
