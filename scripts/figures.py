"""Rules `figures`, `figures_multilabel`, `hardest_examples`: draw what their outputs name."""

from textclf.figures import draw
from textclf.logs import setup_logging

setup_logging(snakemake.log[0])
draw(
    inputs=dict(snakemake.input.items()),
    outputs=dict(snakemake.output.items()),
    threads=snakemake.threads,
    max_length=snakemake.params.max_length,
)
