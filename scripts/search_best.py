"""Rule `search_best`: best.yaml, trials.tsv and the plots of the finished study."""

from textclf.logs import setup_logging
from textclf.search import summarise

setup_logging(snakemake.log[0])
summarise(
    study_json=snakemake.input.study,
    search=snakemake.params.search,
    journal=snakemake.params.journal,
    out_best=snakemake.output.best,
    out_trials=snakemake.output.trials,
    out_history=snakemake.output.history,
    out_importances=snakemake.output.importances,
)
