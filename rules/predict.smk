rule predict:
    input:
        model=predicting_model,
        test=layout.split("{experiment}", "test"),
    output:
        prediction=layout.prediction("{experiment}"),
    log:
        layout.log("{experiment}", "predict"),
    benchmark:
        layout.benchmark("{experiment}", "predict")
    params:
        settings=stage_settings("predict"),
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
        prediction=layout.prediction(DEFAULT),
        metrics=experiment_outputs(DEFAULT)[1:],
    output:
        layout.default_prediction(),
    log:
        layout.workflow_file("logs", "default_prediction.log"),
    benchmark:
        layout.workflow_file("benchmarks", "default_prediction.tsv")
    threads: 1
    resources:
        mem_mb=100,
        runtime=5,
    conda:
        "../envs/data.yaml"
    shell:
        "cp {input.prediction:q} {output:q} 2> {log:q}"
