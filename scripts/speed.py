"""Rule `speed`: latency and throughput of every model of an experiment, in one job."""

from textclf.logs import setup_logging
from textclf.speed import run_speed

setup_logging(snakemake.log[0])
run_speed(
    model_dirs=dict(zip(snakemake.params.models, snakemake.input.models, strict=True)),
    valid_tsv=snakemake.input.valid,
    out_tsv=snakemake.output.speed,
    threads=snakemake.threads,
    max_length=snakemake.params.max_length,
)
