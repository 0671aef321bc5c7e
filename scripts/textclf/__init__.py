"""textclf: the library behind the workflow's rules.

Each module is one stage (prepare, training, augment, mining, evaluation, prediction) and
takes plain arguments, so tests and notebooks call it without Snakemake.
"""
