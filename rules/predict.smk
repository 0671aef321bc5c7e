rule predict:
    input:
        model=predicting_model,
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


# Asking for results/prediction.csv also builds the default experiment's metrics, so the one
# README command yields everything a user looks at.
rule default_prediction:
    input:
        prediction=f"results/{DEFAULT}/prediction.csv",
        metrics=experiment_outputs(DEFAULT)[1:],
    output:
        "results/prediction.csv",
    log:
        "results/logs/default_prediction.log",
    benchmark:
        "results/benchmarks/default_prediction.tsv"
    threads: 1
    resources:
        mem_mb=100,
        runtime=5,
    conda:
        "../envs/data.yaml"
    shell:
        "cp {input.prediction:q} {output:q} 2> {log:q}"
