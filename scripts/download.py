"""Rule `download_<experiment>`: fetch, check and convert a public dataset."""

from textclf.download import download_dataset
from textclf.logs import setup_logging

setup_logging(snakemake.log[0])
download_dataset(spec=snakemake.params.spec, outputs=dict(snakemake.output))
