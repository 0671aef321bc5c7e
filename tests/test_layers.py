"""The library's modules in layers: imports only go down (or sideways within a layer), and
there is no import cycle, counting imports inside functions."""

import ast

from conftest import REPO

PACKAGE = REPO / "scripts" / "textclf"
# Lowest first. The Snakefile imports config and registry, so they sit low and stay free of
# torch; registry names its classes as "module:Class" strings, loaded only when needed.
LAYERS = [
    {"layout"},  # where the files are: standard library only
    {"tsv", "labels", "logs", "preprocess", "llm_server", "registry", "machine"},
    {"config", "metrics", "llm_requests", "download", "push", "comparison", "speed"},
    {"thresholds", "model_card", "prepare"},
    {"encoding", "modeling", "predictor", "epochs", "distributed"},
    {"training", "inference", "baselines", "similarity", "augment", "search"},
    {"finetuning", "figures", "tracking", "compression", "pruning", "distillation"},
    {"stages"},  # one entry point per stage, over what the stages do
    {"cli", "__main__"},  # the command line, over the entry points
]


def library_imports() -> dict[str, set[str]]:
    """Module -> the library modules it imports, anywhere in its body."""
    graph = {}
    for path in sorted(PACKAGE.glob("*.py")):
        if path.stem == "__init__":
            continue
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "textclf":
                    found |= {alias.name for alias in node.names}
                elif node.module.startswith("textclf."):
                    found.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("textclf.")}
        graph[path.stem] = found
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
