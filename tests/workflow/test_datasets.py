"""A dataset missing from data/: the rule downloads, checks and prepares it; the command
line fetches the same files."""

import json

import pytest
import yaml

from textclf.tsv import read_tsv
from workflow.helpers import snakemake, textclf

pytestmark = pytest.mark.workflow


def test_a_missing_dataset_is_downloaded_checked_and_prepared(workflow, serve_files, tmp_path):
    from test_download import GOEMOTIONS, goemotions_spec

    url = serve_files(GOEMOTIONS)
    change = {
        "experiments": {
            "fetched": {
                "dataset": "data/fetched",
                "columns": {"label": "labels"},
                "download": goemotions_spec(url),
            }
        }
    }
    (workflow / "fetched.yaml").write_text(yaml.safe_dump(change))
    args = ["results/fetched/data/dataset.json", "--configfile", "config.yaml", "fetched.yaml"]
    snakemake(workflow, "-j1", *args)
    assert read_tsv(workflow / "data" / "fetched" / "valid.tsv")["id"].tolist() == ["c5", "c6"]
    dataset = json.loads((workflow / "results" / "fetched" / "data" / "dataset.json").read_text())
    assert dataset["problem_type"] == "multi_label" and dataset["labels"] == [
        "anger",
        "joy",
        "neutral",
    ]
    assert dataset["valid_from_train"] is False
    _, output = snakemake(workflow, "-n", *args)  # the local copy now stands: no rule touches it
    assert "Nothing to be done" in output
    # the command line fetches and converts the same files, and never over a local copy
    with pytest.raises(AssertionError, match="data/fetched: holds the dataset already"):
        textclf(workflow, "download", "--experiment", "fetched", "--config", "fetched.yaml")
    out = tmp_path / "fetched"
    textclf(
        workflow,
        "download",
        "--experiment",
        "fetched",
        "--config",
        "fetched.yaml",
        "--out-dir",
        str(out),
    )
    for split in ("train", "valid", "test"):
        rule_wrote = (workflow / "data" / "fetched" / f"{split}.tsv").read_bytes()
        assert (out / f"{split}.tsv").read_bytes() == rule_wrote, split
