"""Rule `download_<experiment>`: fetch, check and convert a public dataset."""

from textclf.logs import setup_logging
from textclf.stages import download, rule_paths

setup_logging(snakemake.log[0])
download(snakemake.params.settings, rule_paths(snakemake))
