rule finetune:
    input:
        stage1="results/{experiment}/checkpoints/stage1",
        train="results/{experiment}/data/train.tsv",
        hard="results/{experiment}/mine/misclassified.tsv",
        valid="results/{experiment}/data/valid.tsv",
    output:
        checkpoint=directory("results/{experiment}/checkpoints/finetuned"),
    log:
        "results/{experiment}/logs/finetune.log",
    benchmark:
        "results/{experiment}/benchmarks/finetune.tsv"
    params:
        training=finetune_settings,
        original_per_hard=original_per_hard,
        card=card_settings,
    threads: 2
    resources:
        mem_mb=6000,
        runtime=240,
        processes=1,  # training processes (DDP); `gpu: N` runs one per GPU
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/finetune.py"
