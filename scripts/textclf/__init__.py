"""textclf: the library behind the workflow's rules.

Each stage (prepare, training, augment, mining, evaluation, prediction) is a function with
plain arguments, so tests and notebooks call it without Snakemake. Modules sit in layers and
import only from below (tests/test_layers.py): files and labels; configuration and metrics;
thresholds; encoding, modeling, the predictor interface and the epoch objects; training,
inference, baselines and augmentation; the stages and figures on top. `config` and `registry`,
which the Snakefile imports, need neither torch nor numpy.
"""
