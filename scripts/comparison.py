"""Rule `comparison`: one row per model of an experiment."""

from textclf.logs import setup_logging
from textclf.stages import comparison, rule_paths

setup_logging(snakemake.log[0])
metrics = {name: path for name, path in snakemake.input.items() if name != "speed"}
comparison(snakemake.params.settings, rule_paths(snakemake, metrics=metrics))
