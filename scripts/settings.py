"""Rule `settings`: write the experiment's resolved settings."""

from textclf.logs import setup_logging
from textclf.stages import rule_paths, settings

setup_logging(snakemake.log[0])
settings(snakemake.params.settings, rule_paths(snakemake))
