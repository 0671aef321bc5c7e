"""Rule `mine`: augmented rows the stage-1 model gets wrong."""

from textclf.logs import setup_logging
from textclf.stages import mine, rule_paths

setup_logging(snakemake.log[0])
mine(snakemake.params.settings, rule_paths(snakemake), snakemake.threads)
