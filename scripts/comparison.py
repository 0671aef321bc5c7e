"""Rule `comparison`: one row per model of an experiment."""

from textclf.comparison import write_comparison
from textclf.logs import setup_logging

setup_logging(snakemake.log[0])
write_comparison(metrics_files=dict(snakemake.input.items()), out_tsv=snakemake.output.table)
