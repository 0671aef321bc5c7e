"""Rule `track`: log the experiment's models (and search trials) to MLflow."""

from textclf.logs import setup_logging
from textclf.tracking import track

setup_logging(snakemake.log[0])
track(
    experiment=snakemake.wildcards.experiment,
    settings_yaml=snakemake.input.settings,
    models=snakemake.params.models,
    uri=snakemake.params.uri,
    out_json=snakemake.output.record,
    final=snakemake.params.final,
    search=snakemake.params.search,
    journal=snakemake.params.journal,
    trials_tsv=snakemake.input.get("trials"),
)
