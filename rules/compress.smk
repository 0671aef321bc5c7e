# Compressed copies of the final model, or of a compressed one (the int8 copies of the pruned
# and distilled models), as compress.models names them; each a model kind of its own.
rule compress:
    input:
        model=compressed_source,
        valid="results/{experiment}/data/valid.tsv",
    output:
        model=directory("results/{experiment}/compressed/{model}"),
    log:
        "results/{experiment}/logs/compress_{model}.log",
    benchmark:
        "results/{experiment}/benchmarks/compress_{model}.tsv"
    params:
        settings=training_settings,
        max_length=max_length,
    wildcard_constraints:
        model="|".join(registry.made_by("compress_{name}")),
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/compress.py"


rule prune:
    input:
        model=final_checkpoint,
        train="results/{experiment}/data/train.tsv",
        valid="results/{experiment}/data/valid.tsv",
    output:
        model=directory("results/{experiment}/compressed/pruned"),
    log:
        "results/{experiment}/logs/prune.log",
    benchmark:
        "results/{experiment}/benchmarks/prune.tsv"
    params:
        settings=training_settings,
        prune=compress_settings("prune"),
    threads: 2
    resources:
        mem_mb=6000,
        runtime=240,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/prune.py"


rule distill:
    input:
        model=final_checkpoint,
        train="results/{experiment}/data/train.tsv",
        valid="results/{experiment}/data/valid.tsv",
    output:
        model=directory("results/{experiment}/compressed/distilled"),
    log:
        "results/{experiment}/logs/distill.log",
    benchmark:
        "results/{experiment}/benchmarks/distill.tsv"
    params:
        settings=training_settings,
        distill=compress_settings("distill"),
    threads: 2
    resources:
        mem_mb=6000,
        runtime=480,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/distill.py"
