"""Rule `search_study`: create (or find) the experiment's Optuna study."""

from textclf.logs import setup_logging
from textclf.search import create_study

setup_logging(snakemake.log[0])
create_study(
    experiment=snakemake.wildcards.experiment,
    train_tsv=snakemake.input.train,
    search=snakemake.params.search,
    training=snakemake.params.training,
    model_name=snakemake.params.model,
    out_json=snakemake.output.study,
    journal=snakemake.params.journal,
)
