"""Rule `distill`: a student with fewer layers trained on the final model's logits."""

from textclf.distillation import run_distill
from textclf.logs import setup_logging
from textclf.tsv import read_tsv

setup_logging(snakemake.log[0])
run_distill(
    model_dir=snakemake.input.model,
    train_rows=read_tsv(snakemake.input.train),
    valid_rows=read_tsv(snakemake.input.valid),
    settings=snakemake.params.settings,
    distill_settings=snakemake.params.distill,
    out_dir=snakemake.output.model,
    threads=snakemake.threads,
)
