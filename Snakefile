from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/settings.smk"
include: "rules/download.smk"
include: "rules/prepare.smk"
include: "rules/search.smk"
include: "rules/train.smk"
include: "rules/augment.smk"
include: "rules/mine.smk"
include: "rules/finetune.smk"
include: "rules/baselines.smk"
include: "rules/compress.smk"
include: "rules/evaluate.smk"
include: "rules/evidence.smk"
include: "rules/figures.smk"
include: "rules/push.smk"
include: "rules/predict.smk"
include: "rules/track.smk"


rule all:
    default_target: True
    input:
        layout.default_prediction(),


# Every configured experiment: predictions and the metrics of every model it trains.
rule all_experiments:
    input:
        [experiment_outputs(name) for name in config["experiments"]],
