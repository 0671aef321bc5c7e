"""Rule `evaluate`: metrics of one checkpoint on valid and (if labelled) test."""

from textclf.logs import setup_logging
from textclf.stages import run_evaluate

setup_logging(snakemake.log[0])
run_evaluate(
    model_dir=snakemake.input.model,
    split_tsvs={"valid": snakemake.input.valid, "test": snakemake.input.test},
    out_json=snakemake.output.metrics,
    out_per_class=snakemake.output.per_class,
    out_probabilities=snakemake.output.probabilities,
    positive_label=snakemake.params.positive_label,
    max_length=snakemake.params.max_length,
    threads=snakemake.threads,
)
