"""Rule `comparison`: one row per model of an experiment."""

from textclf.comparison import write_comparison
from textclf.logs import setup_logging

setup_logging(snakemake.log[0])
metrics = {name: path for name, path in snakemake.input.items() if name != "speed"}
write_comparison(metrics, snakemake.input.speed, snakemake.output.table)
