#!/usr/bin/env bash
# The post-deploy script of every env (envs/<env>.post-deploy.sh: three copies of one file, as
# a link would not survive Snakemake reading the workflow from a remote source). Snakemake runs
# it once, inside the env it has just created, from the folder Snakemake runs in: it installs
# the workflow's own library (pip, editable, no dependencies: the env file pins them), so
# `python -m textclf <stage>` works in the env as in setup.sh's venv. The rule scripts import
# textclf from scripts/ either way; run from another folder (--directory), it only says so.
set -euo pipefail
if grep -qs '^name = "textclf"' pyproject.toml; then
  python -m pip install --quiet --no-deps --editable .
else
  echo "textclf not installed in this env: $(pwd) is not the workflow's folder" >&2
fi
