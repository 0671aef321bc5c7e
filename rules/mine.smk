rule mine:
    input:
        checkpoint=registry.model_folder("{experiment}{member}", "stage1"),
        augmented=layout.augmented("{experiment}"),
        train=layout.split("{experiment}", "train"),
    output:
        hard=protected(layout.hard_examples("{experiment}{member}")),
        stats=layout.mine_stats("{experiment}{member}"),
    log:
        main=layout.log("{experiment}{member}", "mine"),
        server=layout.log("{experiment}{member}", "mine_llm_server"),
    benchmark:
        layout.benchmark("{experiment}{member}", "mine")
    params:
        settings=stage_settings("mine"),
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/mine.py"
