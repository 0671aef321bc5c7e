"""Rules `compress`, `prune`, `distill`: a compressed copy of a model, of the kind the rule
makes (textclf.registry: a kind's `made_by`)."""

from textclf import registry
from textclf.logs import setup_logging
from textclf.stages import compress, rule_paths

setup_logging(snakemake.log[0])
kind = snakemake.wildcards.get("model") or registry.made_by(snakemake.rule)[0]
compress(snakemake.params.settings, rule_paths(snakemake), snakemake.threads, kind=kind)
