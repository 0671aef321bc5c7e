"""Rules `figures`, `figures_multilabel`, `hardest_examples`: draw what their outputs name."""

from textclf.logs import setup_logging
from textclf.stages import figures, rule_paths

setup_logging(snakemake.log[0])
figures(snakemake.params.settings, rule_paths(snakemake), snakemake.threads)
