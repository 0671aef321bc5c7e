"""Rule `mine`: augmented rows the stage-1 model gets wrong."""

from textclf.logs import setup_logging
from textclf.stages import run_mine

setup_logging(snakemake.log[0])
run_mine(
    stage1_dir=snakemake.input.checkpoint,
    augmented_tsv=snakemake.input.augmented,
    out_tsv=snakemake.output.hard,
    max_length=snakemake.params.max_length,
    threads=snakemake.threads,
)
