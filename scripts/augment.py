"""Rule `augment`: LLM rewrites of the training rows."""

from textclf.augment import run_augment
from textclf.logs import setup_logging

setup_logging(snakemake.log.main)
run_augment(
    train_tsv=snakemake.input.train,
    llm=snakemake.params.llm,
    augment=snakemake.params.augment,
    out_tsv=snakemake.output.augmented,
    stats_json=snakemake.output.stats,
    threads=snakemake.threads,
    server_log=snakemake.log.server,
)
