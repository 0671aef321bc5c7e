"""Rule `prepare`: validate the dataset's TSVs and write the canonical splits."""

from textclf.logs import setup_logging
from textclf.prepare import prepare

setup_logging(snakemake.log[0])
prepare(
    inputs=dict(snakemake.input),
    outputs=dict(snakemake.output),
    text_column=snakemake.params.columns["text"],
    label_column=snakemake.params.columns["label"],
    data=snakemake.params.data,
)
