"""The whole workflow through Snakemake on the demo data: tiny model, real local LLM server.

conftest.py runs the demo once per session (the `workflow` fixture); helpers.py holds what
several files (and test_search, test_slurm, test_distributed) call."""
