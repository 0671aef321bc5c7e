"""What a dry run plans after a change of settings, and the settings record."""

import pytest
import yaml

from workflow.helpers import planned_jobs, snakemake

pytestmark = pytest.mark.workflow


def test_nothing_changed_reruns_nothing(workflow):
    assert planned_jobs(workflow) == {}


def test_llm_change_reruns_augmentation_onward(workflow):
    jobs = planned_jobs(workflow, {"llm": {"temperature": 0.5}})
    assert jobs == {
        "settings": 1,
        "track": 1,
        "augment": 1,
        "mine": 1,
        "finetune": 1,
        "evaluate": 1,
        "predict": 1,
        "speed": 1,
        "comparison": 1,
        "significance": 1,
        "figures": 1,
        "hardest_examples": 1,
        "default_prediction": 1,
        "all": 1,
    }


def test_ratio_change_reruns_stage2_onward(workflow):
    jobs = planned_jobs(workflow, {"finetune": {"original_per_hard": 2.0}})
    assert jobs == {
        "settings": 1,
        "track": 1,
        "finetune": 1,
        "evaluate": 1,
        "predict": 1,
        "speed": 1,
        "comparison": 1,
        "significance": 1,
        "figures": 1,
        "default_prediction": 1,
        "all": 1,
    }


def test_an_int8_copy_of_the_pruned_model_is_planned_with_the_pruned_model(workflow):
    change = {"experiments": {"demo": {"compress": {"models": ["pruned-onnx-int8"]}}}}
    jobs = planned_jobs(workflow, change)
    # the pruned model, then its int8 copy, both evaluated; nothing trained again
    assert jobs["prune"] == 1 and jobs["compress"] == 1 and jobs["evaluate"] == 2
    assert jobs["speed"] == 1 and jobs["comparison"] == 1
    assert not {"train", "finetune", "distill", "augment"} & set(jobs)


def test_stage1_change_reruns_training_but_not_augmentation(workflow):
    jobs = planned_jobs(workflow, {"train": {"epochs": 3}})
    assert "augment" not in jobs and "prepare" not in jobs and "baseline" not in jobs
    assert jobs["train"] == 1 and jobs["mine"] == 1 and jobs["evaluate"] == 2
    assert jobs["settings"] == 1


def test_settings_record_every_key_and_rewriting_it_reruns_nothing_else(workflow):
    from textclf.config import SECTIONS, _known_keys, _section_node

    record = workflow / "results" / "demo" / "settings.yaml"
    settings = yaml.safe_load(record.read_text())
    for section in SECTIONS:
        assert set(_known_keys(_section_node(section))) <= set(settings[section]), section
    assert settings["train"]["epochs"] == 2 and settings["train"]["patience"] == 2  # default
    assert settings["finetune"]["epochs"] == 1
    assert settings["finetune"]["learning_rate"] == 2e-5  # stage 2's own default
    assert settings["finetune"]["batch_size"] == settings["train"]["batch_size"]
    assert settings["model"]["card"] == {"license": "apache-2.0", "language": ["en"], "tags": []}
    emotions = yaml.safe_load(
        (workflow / "results" / "demo_emotions" / "settings.yaml").read_text()
    )
    assert emotions["columns"]["label"] == "labels" and emotions["augment"]["max_rows"] == 12

    outputs = {
        path: path.stat().st_mtime_ns
        for path in (workflow / "results").rglob("*")
        if path.is_file()
        and "logs" not in path.parts
        and path != record
        and path.name not in ("tracking.json", "mlflow.db")  # track reads settings.yaml
    }
    change = {"experiments": {"demo": {"push": {"private": False}}}}
    assert planned_jobs(workflow, change) == {"settings": 1, "track": 1}  # track reads it
    try:
        snakemake(
            workflow, "-j1", "results/prediction.csv", "--configfile", "config.yaml", "change.yaml"
        )
        assert yaml.safe_load(record.read_text())["push"]["private"] is False
        assert planned_jobs(workflow, change) == {}
        assert {path: path.stat().st_mtime_ns for path in outputs} == outputs
    finally:
        snakemake(workflow, "-j1", "results/prediction.csv")  # back to the fixture's settings
    assert yaml.safe_load(record.read_text())["push"]["private"] is True
