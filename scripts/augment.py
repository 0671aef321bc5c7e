"""Rule `augment`: LLM rewrites of the training rows."""

from textclf.logs import setup_logging
from textclf.stages import augment, rule_paths

setup_logging(snakemake.log.main)
augment(snakemake.params.settings, rule_paths(snakemake), snakemake.threads)
