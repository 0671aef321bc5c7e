"""Rule `settings`: write the experiment's resolved settings."""

from textclf.config import write_settings
from textclf.logs import setup_logging

setup_logging(snakemake.log[0])
write_settings(settings=snakemake.params.settings, out_yaml=snakemake.output.settings)
