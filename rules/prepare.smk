rule prepare:
    input:
        unpack(dataset_files),
    output:
        train=layout.split("{experiment}", "train"),
        valid=layout.split("{experiment}", "valid"),
        test=layout.split("{experiment}", "test"),
        dataset=layout.dataset_json("{experiment}"),
    log:
        layout.log("{experiment}", "prepare"),
    benchmark:
        layout.benchmark("{experiment}", "prepare")
    params:
        settings=stage_settings("prepare"),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/prepare.py"
