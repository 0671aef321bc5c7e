#!/usr/bin/env bash
# CI stage 2: stand up a one-node Slurm cluster, run the demo workflow through it
# (tests/test_slurm.py: every job a completed Slurm job in sacct, predictions equal to a local
# run's), stop the daemons. .ci/run wraps this in `timeout -s KILL` and stops the daemons again.
set -euo pipefail
cd "$(dirname "$0")/.."
trap 'bash .ci/slurm_down.sh' EXIT
bash .ci/slurm_up.sh
.venv/bin/python -m pytest -m slurm tests/test_slurm.py
