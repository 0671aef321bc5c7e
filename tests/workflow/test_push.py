"""Pushing the final model to a (fake) Hugging Face Hub, by the rule and by the command line."""

import json

import pytest
import yaml

from workflow.helpers import snakemake, textclf

pytestmark = pytest.mark.workflow


def test_push_uploads_the_model_folder_and_keeps_the_token_secret(workflow, monkeypatch):
    from fake_hub import FakeHub

    token = "hf_test_0123456789abcdefSECRET"
    hub = FakeHub(token)
    change = {
        "experiments": {
            "demo": {
                "push": {
                    "repo_id": "someone/demo-minilm",
                    "token_env": "HF_TEST_TOKEN",
                    "endpoint": hub.url,
                }
            }
        }
    }
    (workflow / "push.yaml").write_text(yaml.safe_dump(change))
    args = ["-j1", "results/demo/push.json", "--configfile", "config.yaml", "push.yaml"]
    try:
        code, output = snakemake(workflow, *args, check=False)  # no token in the environment
        assert code != 0 and "HF_TEST_TOKEN (push.token_env) holds no Hugging Face token" in output
        monkeypatch.setenv("HF_TEST_TOKEN", token)
        snakemake(workflow, *args, env={"HF_HUB_OFFLINE": "0"})  # a push is meant to go online
    finally:
        hub.close()
    uploaded = hub.repos["someone/demo-minilm"]
    folder = workflow / "results" / "demo" / "checkpoints" / "finetuned"
    assert {"README.md", "config.json", "model.safetensors", "history.tsv"} <= set(uploaded)
    assert ".snakemake_timestamp" not in uploaded
    assert uploaded["model.safetensors"] == (folder / "model.safetensors").read_bytes()
    assert uploaded["README.md"] == (folder / "README.md").read_bytes()
    assert hub.card_headers[0]["license"] == "apache-2.0"
    assert hub.card_headers[0]["pipeline_tag"] == "text-classification"
    record = json.loads((workflow / "results" / "demo" / "push.json").read_text())
    assert record["commit_url"].startswith(hub.url)
    # the command line pushes the same folder, its record where --out says
    hub = FakeHub(token)
    change["experiments"]["demo"]["push"]["endpoint"] = hub.url
    (workflow / "push.yaml").write_text(yaml.safe_dump(change))
    try:
        log = textclf(
            workflow,
            "push",
            "--config",
            "push.yaml",
            "--out",
            "cli_push.json",
            env={"HF_HUB_OFFLINE": "0"},
        )
    finally:
        hub.close()
        (workflow / "push.yaml").unlink()
    assert hub.repos["someone/demo-minilm"]["model.safetensors"] == uploaded["model.safetensors"]
    assert json.loads((workflow / "cli_push.json").read_text())["commit_url"].startswith(hub.url)
    assert token not in log
    for path in workflow.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert token.encode() not in path.read_bytes(), path
