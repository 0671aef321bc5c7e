"""Rules `search_study`, `search_worker`, `search_best`: one step of the search each."""

from textclf.logs import setup_logging
from textclf.stages import rule_paths, search

STEPS = {"search_study": "study", "search_worker": "worker", "search_best": "best"}

setup_logging(snakemake.log[0])
search(
    snakemake.params.settings,
    rule_paths(snakemake, journal=snakemake.params.journal),
    snakemake.threads,
    worker=int(snakemake.wildcards.get("worker", 0)),
    steps=(STEPS[snakemake.rule],),
    experiment=snakemake.wildcards.experiment,
)
