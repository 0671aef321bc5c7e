rule predict:
    input:
        checkpoint="results/{experiment}/checkpoints/finetuned",
        test="results/{experiment}/data/test.tsv",
    output:
        prediction="results/{experiment}/prediction.csv",
    log:
        "results/{experiment}/logs/predict.log",
    benchmark:
        "results/{experiment}/benchmarks/predict.tsv"
    params:
        max_length=max_length,
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/predict.py"


rule default_prediction:
    input:
        f"results/{DEFAULT}/prediction.csv",
    output:
        "results/prediction.csv",
    log:
        "results/logs/default_prediction.log",
    threads: 1
    resources:
        mem_mb=100,
        runtime=5,
    conda:
        "../envs/data.yaml"
    shell:
        "cp {input:q} {output:q} 2> {log:q}"
