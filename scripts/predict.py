"""Rule `predict`: label test.tsv with the model predict.model names (any kind)."""

from textclf.logs import setup_logging
from textclf.stages import run_predict

setup_logging(snakemake.log[0])
run_predict(
    model_dir=snakemake.input.model,
    test_tsv=snakemake.input.test,
    out_csv=snakemake.output.prediction,
    max_length=snakemake.params.max_length,
    threads=snakemake.threads,
)
