"""Rule `comparison`: one row per model of an experiment."""

from textclf.logs import setup_logging
from textclf.stages import comparison, rule_paths

setup_logging(snakemake.log[0])
metrics = {
    name: path for name, path in snakemake.input.items() if name not in ("speed", "evaluated")
}
paths = rule_paths(snakemake, metrics=metrics, evaluated=snakemake.params.evaluated)
comparison(snakemake.params.settings, paths)
