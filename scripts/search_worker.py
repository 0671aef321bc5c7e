"""Rule `search_worker`: run trials until the study holds search.trials finished ones."""

from textclf.logs import setup_logging
from textclf.search import run_worker

setup_logging(snakemake.log[0])
run_worker(
    worker=int(snakemake.wildcards.worker),
    study_json=snakemake.input.study,
    train_tsv=snakemake.input.train,
    dataset_json=snakemake.input.dataset,
    search=snakemake.params.search,
    training=snakemake.params.training,
    model_name=snakemake.params.model,
    out_json=snakemake.output.worker,
    journal=snakemake.params.journal,
    threads=snakemake.threads,
)
