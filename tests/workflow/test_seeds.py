"""Seeds through Snakemake: what `seeds` plans, what adding a seed trains, the ensemble and the
paired tests of every comparison (significance.tsv)."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from textclf import registry
from textclf.tsv import read_tsv
from workflow.helpers import copy_workflow, mlflow_runs, planned_jobs, snakemake

pytestmark = pytest.mark.workflow


def seeds(count: int, store) -> dict:
    """`seeds: count` for demo, tracked to a store of its own (the session's stays as it is)."""
    return {"experiments": {"demo": {"seeds": count, "tracking": {"uri": f"sqlite:///{store}"}}}}


def test_three_seeds_plan_three_of_every_training_job_and_one_augment(tmp_path, tiny_bert):
    fresh = copy_workflow(tmp_path, tiny_bert)
    one = planned_jobs(fresh)
    three = planned_jobs(fresh, {"experiments": {"demo": {"seeds": 3}}})
    assert three["augment"] == one["augment"] == 1  # shared by the seeds
    assert three["prepare"] == one["prepare"] == 1
    for rule in ("train", "mine", "finetune"):
        assert (one[rule], three[rule]) == (1, 3), rule
    assert three["baseline"] - one["baseline"] == 2 * 2  # tfidf and scratch of two more seeds
    # every model of two more seeds, and the ensemble of the three
    assert three["evaluate"] - one["evaluate"] == 2 * 4 + 1 and three["ensemble"] == 1
    assert "ensemble" not in one


def test_one_seed_keeps_the_paths_and_tests_every_comparison(workflow):
    out = workflow / "results" / "demo"
    assert not (out / "seeds").exists()
    assert not (out / "checkpoints" / "ensemble").exists()
    table = pd.read_csv(out / "significance.tsv", sep="\t")
    settings = yaml.safe_load((out / "settings.yaml").read_text())
    assert settings["seeds"] == [settings["train"]["seed"]] == [42]
    expected = {f"{a} vs {b}" for a, b in registry.comparisons(settings)}
    assert (
        set(table["comparison"])
        == expected
        == {
            "finetuned vs stage1",
            "stage1 vs scratch",
            "stage1 vs tfidf",
        }
    )
    # both labelled splits, the selection metric (accuracy here) once, every row one seed
    assert len(table) == len(expected) * 2 and set(table["split"]) == {"valid", "test"}
    assert (table["seeds"] == 1).all() and table["p_mcnemar"].notna().all()
    assert ((table["low"] <= table["difference"]) & (table["difference"] <= table["high"])).all()
    assert (table["p_holm"] >= table["p_bootstrap"]).all()
    for row in table.itertuples():  # the scores are the metrics files'
        a = json.loads((out / "metrics" / f"{row.a}.json").read_text())[row.split]
        b = json.loads((out / "metrics" / f"{row.b}.json").read_text())[row.split]
        assert row.difference == pytest.approx(a[row.metric] - b[row.metric], abs=1e-4)
        low, high = a["intervals"][row.metric]
        assert low <= a[row.metric] <= high
    verdicts = (out / "verdicts.rst").read_text().splitlines()
    assert len(verdicts) == len(table) and verdicts[0].startswith(
        "- Stage 2 vs stage 1, valid accuracy: "
    )
    predictions = read_tsv(out / "metrics" / "finetuned_predictions.tsv")
    assert predictions.columns.tolist() == ["split", "id", "label", "predicted"]
    assert predictions["split"].value_counts().to_dict() == {"valid": 120, "test": 120}


def test_another_seed_trains_only_its_models_and_makes_an_ensemble(workflow, tmp_path):
    out = workflow / "results" / "demo"
    store = tmp_path / "seeds.db"
    before = {p: p.stat().st_mtime_ns for p in (out / "checkpoints").rglob("*") if p.is_file()}
    jobs = planned_jobs(workflow, seeds(2, store))
    assert jobs["train"] == jobs["mine"] == jobs["finetune"] == 1 and jobs["baseline"] == 2
    assert not {"prepare", "augment"} & set(jobs)
    try:
        snakemake(
            workflow, "-j2", "results/prediction.csv", "--configfile", "config.yaml", "change.yaml"
        )
        seed = out / "seeds" / "43"
        for model in ("stage1", "finetuned"):
            manifest = json.loads((seed / "checkpoints" / model / "manifest.json").read_text())
            assert manifest["kind"] == model
            trained = json.loads(
                (seed / "checkpoints" / model / "training_settings.json").read_text()
            )
            assert trained["seed"] == 43
        assert {p: p.stat().st_mtime_ns for p in before} == before  # seed 42's untouched
        # adding a third seed plans only the third seed's training
        third = planned_jobs(workflow, seeds(3, store))
        assert third["train"] == third["mine"] == third["finetune"] == 1
        assert "augment" not in third and third["baseline"] == 2

        # the ensemble: the mean of the two seeds' stage-2 probabilities
        from textclf.registry import load_predictor

        texts = read_tsv(out / "data" / "valid.tsv")["text"].head(20).tolist()
        members = [out / "checkpoints" / "finetuned", seed / "checkpoints" / "finetuned"]
        mean = np.mean([load_predictor(m).probabilities(texts) for m in members], axis=0)
        ensemble = load_predictor(out / "checkpoints" / "ensemble")
        np.testing.assert_allclose(ensemble.probabilities(texts), mean, rtol=1e-5)

        table = pd.read_csv(out / "significance.tsv", sep="\t")
        assert "ensemble vs finetuned" in set(table["comparison"])
        seeded = table[table["comparison"] == "finetuned vs stage1"]
        assert (seeded["seeds"] == 2).all() and seeded["p_bootstrap"].between(0, 1).all()
        comparison = pd.read_csv(out / "comparison.tsv", sep="\t").set_index("model")
        assert comparison.loc["stage1", "seeds"] == 2 and "ensemble" in comparison.index
        figure = out / "figures" / "scores_by_seed.png"
        assert figure.stat().st_size > 10_000
        # each seed's models are runs of their own, tagged with their seed
        _, runs = mlflow_runs(f"sqlite:///{store}", "demo")
        assert {"stage1", "stage1/seeds/43", "finetuned/seeds/43", "ensemble"} <= set(runs)
        assert runs["stage1/seeds/43"].data.tags["seed"] == "43"
        assert runs["stage1"].data.tags["seed"] == "42"
        # the ensemble's MLflow model carries its members: it labels as the ensemble does
        import mlflow.artifacts
        import mlflow.pyfunc

        local = mlflow.artifacts.download_artifacts(
            run_id=runs["ensemble"].info.run_id,
            artifact_path="model",
            dst_path=str(tmp_path / "ensemble_model"),
            tracking_uri=f"sqlite:///{store}",
        )
        served = mlflow.pyfunc.load_model(local).predict(pd.DataFrame({"text": texts}))
        expected = ensemble.predict(texts)
        assert served["label"].tolist() == expected["predicted"].tolist()
        np.testing.assert_allclose(served["score"], expected["probability"], atol=1e-6)
    finally:  # back to the fixture's one seed
        snakemake(workflow, "-j2", "results/prediction.csv")
    assert planned_jobs(workflow) == {}
