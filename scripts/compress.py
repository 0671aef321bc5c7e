"""Rule `compress`: a compressed copy of the final model, of the kind the wildcard names."""

from textclf.compression import run_compress_onnx
from textclf.logs import setup_logging
from textclf.tsv import read_tsv

setup_logging(snakemake.log[0])
run_compress_onnx(
    kind=snakemake.wildcards.model,
    model_dir=snakemake.input.model,
    valid_rows=read_tsv(snakemake.input.valid),
    settings=snakemake.params.settings,
    out_dir=snakemake.output.model,
    threads=snakemake.threads,
    max_length=snakemake.params.max_length,
)
