"""The pinned conda environments, checked as far as a machine without conda allows: every rule
names one, every package is pinned exactly from conda-forge/nodefaults, each pip section
resolves, and the driver's requirements.txt agrees with the env files on shared packages."""

import os
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


@pytest.mark.parametrize("path", ENVS, ids=[p.name for p in ENVS])
def test_each_env_installs_the_library_after_it_is_made(path):
    # Snakemake runs <env>.post-deploy.sh inside a new env (the only place it looks)
    script = path.with_name(f"{path.stem}.post-deploy.sh")
    assert not script.is_symlink()  # read through Snakemake's source cache, remote ones too
    assert script.read_text() == (REPO / "envs" / "torch.post-deploy.sh").read_text()


def test_the_post_deploy_script_installs_textclf_editable(tmp_path):
    """Run where conda would: in a fresh environment (a venv here), from the workflow's folder;
    the env then imports textclf from the checkout, from any folder."""
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, timeout=300)
    active = {**os.environ, "PATH": f"{env / 'bin'}:{os.environ['PATH']}", "VIRTUAL_ENV": str(env)}
    script = REPO / "envs" / "torch.post-deploy.sh"
    done = subprocess.run(
        ["bash", str(script)], cwd=REPO, env=active, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    where = subprocess.run(
        [env / "bin" / "python", "-c", "import textclf.layout as m; print(m.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert where.stdout.strip() == str(REPO / "scripts" / "textclf" / "layout.py"), where.stderr
    elsewhere = subprocess.run(
        ["bash", str(script)], cwd=tmp_path, env=active, capture_output=True, text=True
    )
    assert elsewhere.returncode == 0 and "is not the workflow's folder" in elsewhere.stderr
