"""A mistake in the config or in the input data stops the run with one clear line."""

import shutil

import pytest
import yaml
from conftest import REPO

from workflow.helpers import copy_workflow, snakemake

pytestmark = pytest.mark.workflow


MISTAKES = [
    ({"trian": {"epochs": 1}}, "", "unknown section 'trian' (did you mean 'train'?)"),
    ({"train": {"epochz": 3}}, "train", "unknown key 'epochz' (did you mean 'epochs'?)"),
    ({"augment": {"variantz": 3}}, "augment", "unknown key 'variantz' (did you mean 'variants'?)"),
    ({"train": {"learning_rate": "fast"}}, "train.learning_rate", "'fast' is not a number"),
    (
        {"model": {"card": {"licence": "mit"}}},
        "model.card",
        "unknown key 'licence' (did you mean 'license'?)",
    ),
    (
        {"train": {"unfreeze": "sometimes"}},
        "train.unfreeze",
        "'sometimes' is not one of epoch, plateau, none",
    ),
]


@pytest.mark.parametrize("place", ["top", "experiment"])
@pytest.mark.parametrize(
    ("mistake", "where", "problem"), MISTAKES, ids=[m[2].split(" (")[0] for m in MISTAKES]
)
def test_a_config_mistake_stops_the_run_in_one_line(
    tmp_path, tiny_bert, mistake, where, problem, place
):
    workdir = copy_workflow(tmp_path, tiny_bert)
    if place == "experiment":
        mistake, where = (
            {"experiments": {"demo": mistake}},
            ".".join(filter(None, ["experiments.demo", where])),
        )
    (workdir / "mistake.yaml").write_text(yaml.safe_dump(mistake))
    expected = f"Configuration error: {where or 'config'}: {problem}"
    for args in (["-n"], ["-j1"]):  # a dry run, and a real one: neither starts a job
        code, output = snakemake(
            workdir,
            *args,
            "all_experiments",
            "--configfile",
            "config.yaml",
            "mistake.yaml",
            check=False,
        )
        assert code != 0
        assert [line for line in output.splitlines() if "error" in line.lower()] == [expected], (
            output
        )
        assert "Traceback" not in output and "rule " not in output
        assert not (workdir / "results").exists()


def test_bad_input_stops_prepare_with_one_clear_line(workflow, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(REPO / "data" / "example", bad)
    lines = (bad / "train.tsv").read_text().splitlines()
    lines[5] = lines[5].replace(" ", "\t", 1)
    (bad / "train.tsv").write_text("\n".join(lines) + "\n")
    change = {"experiments": {"broken": {"dataset": str(bad)}}}
    (workflow / "broken.yaml").write_text(yaml.safe_dump(change))
    code, output = snakemake(
        workflow,
        "-j1",
        "results/broken/prediction.csv",
        "--configfile",
        "config.yaml",
        "broken.yaml",
        check=False,
    )
    assert code != 0
    assert f"DataError: {bad}/train.tsv: line 6: 4 fields where the header has 3" in output
    assert not (workflow / "results" / "broken" / "data").exists()
