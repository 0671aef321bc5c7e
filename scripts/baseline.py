"""Rule `baseline`: train a from-scratch or TF-IDF baseline."""

from textclf.logs import setup_logging
from textclf.stages import baseline, rule_paths

setup_logging(snakemake.log[0])
baseline(
    snakemake.params.settings,
    rule_paths(snakemake),
    snakemake.threads,
    kind=snakemake.wildcards.baseline,
)
