"""Rule `prune`: the final model with its least important heads and neurons removed."""

from textclf.logs import setup_logging
from textclf.pruning import run_prune
from textclf.tsv import read_tsv

setup_logging(snakemake.log[0])
run_prune(
    model_dir=snakemake.input.model,
    train_rows=read_tsv(snakemake.input.train),
    valid_rows=read_tsv(snakemake.input.valid),
    settings=snakemake.params.settings,
    prune_settings=snakemake.params.prune,
    out_dir=snakemake.output.model,
    threads=snakemake.threads,
)
