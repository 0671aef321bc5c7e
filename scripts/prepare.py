"""Rule `prepare`: validate the dataset's TSVs and write the canonical splits."""

from textclf.logs import setup_logging
from textclf.stages import prepare

setup_logging(snakemake.log[0])
sources = {f"source_{name}": path for name, path in snakemake.input.items()}
prepare(snakemake.params.settings, {**sources, **dict(snakemake.output.items())})
