rule finetune:
    input:
        stage1=registry.model_folder("{experiment}{member}", "stage1"),
        train=layout.split("{experiment}", "train"),
        hard=layout.hard_examples("{experiment}{member}"),
        valid=layout.split("{experiment}", "valid"),
    output:
        checkpoint=directory(registry.model_folder("{experiment}{member}", "finetuned")),
    log:
        layout.log("{experiment}{member}", "finetune"),
    benchmark:
        layout.benchmark("{experiment}{member}", "finetune")
    params:
        settings=stage_settings("finetune"),
    threads: 2
    resources:
        mem_mb=6000,
        runtime=240,
        processes=1,  # training processes (DDP); `gpu: N` runs one per GPU
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/finetune.py"
