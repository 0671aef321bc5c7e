rule baseline:
    input:
        train="results/{experiment}/data/train.tsv",
        valid="results/{experiment}/data/valid.tsv",
        dataset="results/{experiment}/data/dataset.json",
    output:
        model=directory("results/{experiment}/baselines/{baseline}"),
    log:
        "results/{experiment}/logs/baseline_{baseline}.log",
    benchmark:
        "results/{experiment}/benchmarks/baseline_{baseline}.tsv"
    params:
        settings=baseline_settings,
        metric=selection_metric,
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/baseline.py"


rule comparison:
    input:
        unpack(comparison_inputs),
    output:
        table=report(
            "results/{experiment}/comparison.tsv",
            caption="../report/comparison.rst",
            category="{experiment}",
            subcategory="5 comparison",
        ),
    log:
        "results/{experiment}/logs/comparison.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/comparison.py"
