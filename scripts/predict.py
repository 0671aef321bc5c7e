"""Rule `predict`: label test.tsv with the model predict.model names (any kind)."""

from textclf.logs import setup_logging
from textclf.stages import predict, rule_paths

setup_logging(snakemake.log[0])
predict(snakemake.params.settings, rule_paths(snakemake), snakemake.threads)
