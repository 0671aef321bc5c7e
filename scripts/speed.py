"""Rule `speed`: latency and throughput of every model of an experiment, in one job."""

from textclf.logs import setup_logging
from textclf.stages import rule_paths, speed

setup_logging(snakemake.log[0])
models = dict(zip(snakemake.params.models, snakemake.input.models, strict=True))
speed(snakemake.params.settings, rule_paths(snakemake, models=models), snakemake.threads)
