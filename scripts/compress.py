"""Rule `compress`: an ONNX copy, of the kind the wildcard names, of the model it is made from
(the final model, or the pruned or distilled one for their int8 copies)."""

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
