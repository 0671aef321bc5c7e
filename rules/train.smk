rule train:
    input:
        unpack(searched_settings),
        train="results/{experiment}/data/train.tsv",
        valid="results/{experiment}/data/valid.tsv",
        dataset="results/{experiment}/data/dataset.json",
    output:
        checkpoint=directory("results/{experiment}/checkpoints/stage1"),
    log:
        "results/{experiment}/logs/train.log",
    benchmark:
        "results/{experiment}/benchmarks/train.tsv"
    params:
        model=model_name,
        training=training_settings,
        card=card_settings,
    threads: 2
    resources:
        mem_mb=6000,
        runtime=240,
        processes=1,  # training processes (DDP); `gpu: N` runs one per GPU
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/train.py"
