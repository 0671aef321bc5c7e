"""One entry point per stage: every rule's script calls the entry point of the stage whose
settings the rule reads, and nothing else of the library; the command line calls the same
entry points, from one table. Checked from the code, not by convention."""

import ast
import re

from conftest import REPO

from textclf import cli, stages
from textclf.stages import STAGES

RULES = REPO / "rules"
SCRIPTS = REPO / "scripts"
# What a rule script may import beside the entry point: logging, the processes a rule's
# resources ask for, and the registry's names of what a rule makes.
SCRIPT_HELPERS = {"setup_logging", "rule_paths", "processes", "registry"}


def rule_blocks() -> dict[str, str]:
    """Rule name -> its text, for every `rule NAME:` of rules/*.smk (download's rules are made
    in a loop and named by the experiment: 'download')."""
    blocks = {}
    for path in sorted(RULES.glob("*.smk")):
        text = path.read_text()
        starts = list(re.finditer(r"^(?:rule (\w+)|    rule):", text, re.MULTILINE))
        for i, start in enumerate(starts):
            end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
            blocks[start[1] or path.stem] = text[start.start() : end]
    return blocks


def entry_points_called(script) -> set[str]:
    """The names imported from textclf.stages that the script calls (rule_paths aside)."""
    tree = ast.parse(script.read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "textclf.stages"
        for alias in node.names
    }
    called = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    return (imported & called) - SCRIPT_HELPERS


def library_names(script) -> set[str]:
    """Every name the script imports from the library."""
    tree = ast.parse(script.read_text())
    return {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("textclf")
        for alias in node.names
    }


def test_the_finder_sees_a_second_call():
    assert rule_blocks()["train"].startswith("rule train:")
    assert entry_points_called(SCRIPTS / "train.py") == {"train"}


def test_every_rule_script_calls_its_stages_entry_point_and_nothing_else():
    checked = set()
    for rule, block in rule_blocks().items():
        script = re.search(r'script:\s*"\.\./scripts/(\w+\.py)"', block)
        if script is None:
            continue  # a shell rule (default_prediction copies a file)
        named = re.search(r'settings=stage_settings\("(\w+)"', block)
        stage = named[1] if named else rule  # download's settings are its spec
        assert stage in STAGES, (rule, stage)
        path = SCRIPTS / script[1]
        assert entry_points_called(path) == {STAGES[stage].run.__name__}, rule
        extra = library_names(path) - SCRIPT_HELPERS - {STAGES[stage].run.__name__}
        assert not extra, (rule, extra)  # no other library call beside the entry point
        checked.add(stage)
    assert checked == set(STAGES)  # every stage has a rule


def test_the_command_line_is_the_table_of_entry_points():
    commands = cli.parser()._subparsers._group_actions[0].choices
    assert list(commands) == list(STAGES)
    for name, stage in STAGES.items():
        assert getattr(stages, stage.run.__name__) is stage.run, name
    # the command line imports no stage's library module: only the entry points' table
    tree = ast.parse((REPO / "scripts" / "textclf" / "cli.py").read_text())
    modules = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("textclf")
    }
    allowed = {"textclf", "textclf.config", "textclf.stages", "textclf.machine"}
    assert modules - allowed <= {"textclf.logs", "textclf.distributed"}, modules
