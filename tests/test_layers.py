"""The library's modules in layers: imports only go down (or sideways within a layer), and
there is no import cycle, counting imports inside functions. A package of the library
(config) is one module of its layer, and its own modules import each other without a cycle."""

import ast

from conftest import REPO

PACKAGE = REPO / "scripts" / "textclf"
# Lowest first. The Snakefile imports config and registry, so they sit low and stay free of
# torch; registry names its classes as "module:Class" strings, loaded only when needed.
LAYERS = [
    {"layout"},  # where the files are: standard library only
    {"tsv", "labels", "logs", "preprocess", "llm_server", "registry", "machine", "packaged"},
    {"config", "metrics", "llm_requests", "download", "push", "speed"},
    {"thresholds", "model_card", "prepare", "significance"},
    {"comparison", "evidence"},
    {"encoding", "modeling", "predictor", "epochs", "distributed"},
    {"training", "inference", "baselines", "similarity", "augment", "search", "ensemble", "pyfunc"},
    {"finetuning", "figures", "tracking", "compression", "pruning", "distillation", "mining"},
    {"stages"},  # one entry point per stage, over what the stages do
    {"cli", "__main__"},  # the command line, over the entry points
]


def _is_module(dotted: str) -> bool:
    path = PACKAGE.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imported(path) -> set[str]:
    """The library modules a file imports, anywhere in its body, named below textclf:
    "registry", "config" (the package: `from textclf.config import check`), "config.schema"."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:  # a name may be a module of its own (`from textclf import x`)
                dotted = f"{node.module}.{alias.name}"
                found.add(dotted if _is_module(dotted) else node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {name.removeprefix("textclf.") for name in found if name.startswith("textclf.")}


def packages() -> list:
    """The library's packages (config), each one module of its layer."""
    return sorted(path.parent for path in PACKAGE.glob("*/__init__.py"))


def library_imports() -> dict[str, set[str]]:
    """Module -> the library modules it imports, anywhere in its body; a package counts as one
    module, importing what its own modules import from outside it."""
    graph = {}
    for path in sorted(PACKAGE.glob("*.py")):
        if path.stem == "__init__":
            continue
        graph[path.stem] = {name.split(".")[0] for name in imported(path)}
    for package in packages():
        found = {name.split(".")[0] for path in package.glob("*.py") for name in imported(path)}
        graph[package.name] = found - {package.name}
    return graph


def package_imports(package) -> dict[str, set[str]]:
    """Module of a package -> the modules of the same package it imports ("__init__" for the
    package itself)."""
    graph = {}
    for path in sorted(package.glob("*.py")):
        inside = set()
        for name in imported(path):
            top, _, rest = name.partition(".")
            if top == package.name:
                inside.add(rest.split(".")[0] or "__init__")
        graph[path.stem] = inside
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as a path of modules, or None."""
    state = {}

    def visit(module, path):
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target, [*path, target])):
                return found
        state[module] = "done"
        return None

    for module in graph:
        if module not in state and (found := visit(module, [module])):
            return found
    return None


def test_the_cycle_finder_finds_a_lazy_circle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


def test_every_module_has_a_layer_and_imports_only_go_down():
    graph = library_imports()
    layer = {module: i for i, modules in enumerate(LAYERS) for module in modules}
    assert set(graph) == set(layer), "place each library module in a layer"
    upward = [
        (m, t, layer[m], layer[t]) for m, ts in graph.items() for t in ts if layer[t] > layer[m]
    ]
    assert not upward, upward


def test_no_import_cycle_in_the_library():
    assert cycle(library_imports()) is None


def test_a_package_is_one_module_of_its_layer():
    assert [package.name for package in packages()] == ["config"]
    assert not (PACKAGE / "config.py").exists(), "config is a package, not a module"
    graph = library_imports()
    # what its modules import from the rest of the library, and only that
    assert {"registry", "labels", "tsv"} <= graph["config"], graph["config"]
    assert "config" not in graph["config"]


def test_no_import_cycle_inside_a_package():
    for package in packages():
        graph = package_imports(package)
        assert "schema" in graph["validate"] and "validate" in graph["__init__"]  # seen
        assert cycle(graph) is None, package.name
