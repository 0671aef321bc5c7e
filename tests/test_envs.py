"""The pinned conda environments, checked as far as a machine without conda allows: every rule
names one, every package is pinned exactly from conda-forge/nodefaults, each pip section
resolves, and the driver's requirements.txt agrees with the env files on shared packages."""

import re
import subprocess
import sys

import pytest
import yaml
from conftest import REPO

ENVS = sorted((REPO / "envs").glob("*.yaml"))
CONDA_PIN = re.compile(r"^[A-Za-z0-9_.-]+ =[0-9][A-Za-z0-9_.]*$")
PIP_PIN = re.compile(r"^([A-Za-z0-9_.-]+)(\[[a-z,]+\])?==([0-9][A-Za-z0-9_.]*)$")


def pip_section(env: dict) -> list[str]:
    return next((d["pip"] for d in env["dependencies"] if isinstance(d, dict)), [])


def pins(lines) -> dict[str, str]:
    found = {}
    for line in lines:
        match = PIP_PIN.match(line.strip())
        if match:
            found[match[1].lower().replace("_", "-")] = match[3]
    return found


def test_every_rule_names_a_conda_env():
    # Snakemake's linter flags any rule that runs something without a conda env (or a log).
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "in a good condition" in output, output[-3000:]
    assert "conda environment" not in output


@pytest.mark.parametrize("path", ENVS, ids=[p.name for p in ENVS])
def test_env_pins_every_package_exactly(path):
    env = yaml.safe_load(path.read_text())
    assert env["channels"] == ["conda-forge", "nodefaults"]
    for dependency in env["dependencies"]:
        if isinstance(dependency, dict):
            assert all(PIP_PIN.match(line) for line in dependency["pip"]), dependency["pip"]
        else:
            assert CONDA_PIN.match(dependency), dependency


def test_requirements_and_envs_agree_on_shared_packages():
    driver = pins((REPO / "requirements.txt").read_text().splitlines())
    for path in ENVS:
        for name, version in pins(pip_section(yaml.safe_load(path.read_text()))).items():
            if name in driver:
                assert driver[name] == version, f"{path.name}: {name} {version} != {driver[name]}"


@pytest.mark.parametrize("path", ENVS, ids=[p.name for p in ENVS])
def test_pip_section_resolves(path, tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("\n".join(pip_section(yaml.safe_load(path.read_text()))) + "\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "-q",
            "-r",
            str(requirements),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
