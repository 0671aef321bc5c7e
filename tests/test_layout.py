"""textclf.layout spells the workflow's paths for the input functions and the command line; the
rules spell their outputs themselves. Every layout path, given the rules' wildcards, must be a
pattern some rule writes, so the two can never drift apart."""

import re

import pytest
from conftest import REPO

from textclf import layout, registry

RULES = "\n".join(path.read_text() for path in sorted((REPO / "rules").glob("*.smk")))
# every quoted path in the rules (outputs, logs, inputs), wildcards as written there
QUOTED = set(re.findall(r'"(results/[^"]+)"', RULES))
E = "{experiment}"

PATHS = {
    "split": [layout.split(E, split) for split in layout.SPLITS],
    "dataset_json": [layout.dataset_json(E)],
    "prepared": list(layout.prepared(E).values()),
    "search": [
        layout.search(E, name) for name in ("study.json", "best.yaml", *layout.SEARCH_REPORT)
    ],
    "search_worker": [layout.search_worker(E, "{worker}")],
    "augmented": [layout.augmented(E), layout.augment_stats(E)],
    "hard_examples": [layout.hard_examples(E)],
    "metrics": [
        layout.metrics(E, "{model}"),
        layout.per_class(E, "{model}"),
        layout.valid_probabilities(E, "{model}"),
        layout.speed(E),
    ],
    "results": [layout.comparison(E), layout.prediction(E), layout.settings(E)],
    "figures": list(layout.figures(E, multi_label=True, hard=True).values()),
    "records": [layout.tracking_record(E), layout.push_record(E)],
    "logs": [layout.log(E, "augment_llm_server"), layout.log(E, "train")],
}


@pytest.mark.parametrize("group", PATHS)
def test_every_layout_path_is_one_a_rule_writes(group):
    for path in PATHS[group]:
        assert path in QUOTED, f"{path}: no rule spells this path"


def test_model_folders_are_the_rules_outputs():
    for name, kind in registry.KINDS.items():
        folder = registry.model_folder(E, name)
        wildcard = "{baseline}" if kind.role == registry.BASELINE else "{model}"
        assert folder in QUOTED or layout.path(E, kind.folder, wildcard) in QUOTED, folder


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
