"""textclf.layout is the one owner of the workflow's paths: the rules' inputs, outputs, logs and
benchmarks call it (with their wildcards), as do the input functions and the stages' defaults
for the command line, so no path is spelt twice."""

import re

from conftest import REPO

from textclf import layout

RULES = {path.name: path.read_text() for path in sorted((REPO / "rules").glob("*.smk"))}
RULES["Snakefile"] = (REPO / "Snakefile").read_text()


def spelt_paths(text: str) -> list[str]:
    """String literals (f-strings too) in rule code that spell a path under results/."""
    code = "\n".join(line.split("#")[0] for line in text.splitlines())  # comments aside
    return re.findall(r'f?"(results/[^"]*)"', code)


def test_no_rule_spells_a_path_itself():
    assert spelt_paths('    output:\n        "results/{experiment}/x.tsv",  # a path') == [
        "results/{experiment}/x.tsv"
    ]
    for name, text in RULES.items():
        assert spelt_paths(text) == [], name


def test_layout_gives_the_rules_patterns():
    assert layout.split("{experiment}", "train") == "results/{experiment}/data/train.tsv"
    assert layout.figure("x", "hardest_examples") == "results/x/figures/hardest_examples.html"
    assert layout.benchmark("x", "train") == "results/x/benchmarks/train.tsv"


def test_the_figures_are_the_figure_rules_outputs():
    from textclf.figures import DRAWERS

    drawn = layout.figures("x", multi_label=True, hard=True)
    assert set(drawn) == set(DRAWERS)
    assert not layout.figures("x").keys() & {"labels_per_sample", "hardest_examples"}


def test_tracking_failures_are_counted_beside_the_record(tmp_path):
    record = tmp_path / "tracking.json"
    failures = layout.tracking_failures(record)
    assert failures == str(tmp_path / "tracking.failures")
    assert layout.failed_attempts(failures) == 0
    (tmp_path / "tracking.failures").write_text("3\n")
    assert layout.failed_attempts(failures) == 3
