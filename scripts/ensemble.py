"""Rule `ensemble`: the mean of one model's probabilities over the seeds."""

from textclf.logs import setup_logging
from textclf.stages import ensemble, rule_paths

setup_logging(snakemake.log[0])
ensemble(snakemake.params.settings, rule_paths(snakemake), snakemake.threads)
