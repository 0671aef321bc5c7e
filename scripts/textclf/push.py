"""Rule `push`: upload a saved model folder (weights, tokenizer, model card, thresholds) to a
Hugging Face Hub repository with `huggingface_hub`.

Runs only when asked for (`results/<experiment>/push.json`) and configured: `push.repo_id`
names the repository and the environment variable named by `push.token_env` holds the token.
The token never reaches a log, an output or Snakemake's metadata: it is read here, and any
error text that carries it is redacted.
"""

from __future__ import annotations

import json
import logging
import os

from huggingface_hub import HfApi

from textclf.tsv import write_text

log = logging.getLogger(__name__)


class PushError(RuntimeError):
    pass


def push_model(
    folder,
    repo_id: str | None,
    token_env: str,
    private: bool,
    out_json,
    endpoint: str | None = None,
) -> dict:
    """Create the repository if needed, upload `folder` in one commit, record where."""
    if not repo_id:
        raise PushError("push: set push.repo_id (e.g. your-name/wnut2020-minilm) in the config")
    token = os.environ.get(token_env)
    if not token:
        raise PushError(
            f"push: the environment variable {token_env} (push.token_env) holds "
            "no Hugging Face token"
        )
    api = HfApi(endpoint=endpoint, token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        commit = api.upload_folder(
            repo_id=repo_id,
            folder_path=str(folder),
            commit_message=f"Upload {folder}",
            ignore_patterns=[".snakemake_timestamp"],
        )
    except Exception as error:  # the Hub's own errors; never let the token through
        raise PushError(f"push to {repo_id} failed: {str(error).replace(token, '***')}") from None
    record = {
        "repo_id": repo_id,
        "folder": str(folder),
        "commit_url": commit.commit_url,
        "private": private,
    }
    log.info("pushed %s to %s (%s)", folder, repo_id, commit.commit_url)
    write_text(json.dumps(record, indent=2) + "\n", out_json)
    return record
