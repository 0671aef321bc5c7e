rule train:
    input:
        unpack(searched_settings),
        train=layout.split("{experiment}", "train"),
        valid=layout.split("{experiment}", "valid"),
        dataset=layout.dataset_json("{experiment}"),
    output:
        checkpoint=directory(registry.model_folder("{experiment}{member}", "stage1")),
    log:
        layout.log("{experiment}{member}", "train"),
    benchmark:
        layout.benchmark("{experiment}{member}", "train")
    params:
        settings=stage_settings("train"),
    threads: 2
    resources:
        mem_mb=6000,
        runtime=240,
        processes=1,  # training processes (DDP); `gpu: N` runs one per GPU
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/train.py"
