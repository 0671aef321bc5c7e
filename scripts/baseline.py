"""Rule `baseline`: train a from-scratch or TF-IDF baseline."""

from textclf.baselines import run_baseline
from textclf.logs import setup_logging

setup_logging(snakemake.log[0])
run_baseline(
    kind=snakemake.wildcards.baseline,
    train_tsv=snakemake.input.train,
    valid_tsv=snakemake.input.valid,
    dataset_json=snakemake.input.dataset,
    settings=snakemake.params.settings,
    out_dir=snakemake.output.model,
    metric=snakemake.params.metric,
    threads=snakemake.threads,
)
