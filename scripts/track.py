"""Rule `track`: log the experiment's models (and search trials) to the tracking store."""

from textclf.logs import setup_logging
from textclf.stages import rule_paths, track

setup_logging(snakemake.log[0])
journal = snakemake.params.journal
paths = rule_paths(snakemake, models=snakemake.params.models, journal=journal)
track(snakemake.params.settings, paths, experiment=snakemake.wildcards.experiment)
