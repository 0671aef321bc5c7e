"""Rule `evaluate`: metrics of one model on valid and (if labelled) test."""

from textclf.logs import setup_logging
from textclf.stages import evaluate, rule_paths

setup_logging(snakemake.log[0])
evaluate(snakemake.params.settings, rule_paths(snakemake), snakemake.threads)
