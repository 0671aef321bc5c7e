rule evaluate:
    input:
        unpack(labelled_splits),
        model=model_dir,
    output:
        metrics=layout.metrics("{experiment}{member}", "{model}"),
        per_class=layout.per_class("{experiment}{member}", "{model}"),
        probabilities=layout.valid_probabilities("{experiment}{member}", "{model}"),
        predictions=layout.predictions("{experiment}{member}", "{model}"),
    log:
        layout.log("{experiment}{member}", "evaluate_{model}"),
    benchmark:
        layout.benchmark("{experiment}{member}", "evaluate_{model}")
    params:
        settings=stage_settings("evaluate"),
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/evaluate.py"


# Every model's latency and throughput, one model after another in one job (parallel evaluate
# jobs share the cores, so their times do not compare).
rule speed:
    input:
        models=model_folders,
        valid=layout.split("{experiment}", "valid"),
    output:
        speed=layout.speed("{experiment}"),
    log:
        layout.log("{experiment}", "speed"),
    params:
        models=model_names,
        settings=stage_settings("speed"),
    threads: all_cores
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/speed.py"
