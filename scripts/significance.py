"""Rule `significance`: paired tests of every comparison, the verdicts and the per-seed figure."""

from textclf.logs import setup_logging
from textclf.stages import rule_paths, significance

setup_logging(snakemake.log[0])
significance(
    snakemake.params.settings,
    rule_paths(snakemake, evaluated=snakemake.params.evaluated),
    snakemake.threads,
)
