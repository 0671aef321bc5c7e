rule augment:
    input:
        train=layout.split("{experiment}", "train"),
    output:
        augmented=protected(layout.augmented("{experiment}")),
        stats=layout.augment_stats("{experiment}"),
    log:
        main=layout.log("{experiment}", "augment"),
        server=layout.log("{experiment}", "augment_llm_server"),
    benchmark:
        layout.benchmark("{experiment}", "augment")
    params:
        settings=stage_settings("augment"),
    threads: 2
    resources:
        mem_mb=2000,
        runtime=240,
    conda:
        "../envs/augment.yaml"
    script:
        "../scripts/augment.py"
