rule mine:
    input:
        checkpoint="results/{experiment}/checkpoints/stage1",
        augmented="results/{experiment}/augment/augmented.tsv",
    output:
        hard=protected("results/{experiment}/mine/misclassified.tsv"),
    log:
        "results/{experiment}/logs/mine.log",
    benchmark:
        "results/{experiment}/benchmarks/mine.tsv"
    params:
        max_length=max_length,
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/mine.py"
