"""Rule `push`: upload the experiment's final model folder to a Hugging Face Hub."""

from textclf.logs import setup_logging
from textclf.stages import push, rule_paths

setup_logging(snakemake.log[0])
push(snakemake.params.settings, rule_paths(snakemake))
