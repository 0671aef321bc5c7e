rule prepare:
    input:
        train=dataset_file("train"),
        valid=dataset_file("valid"),
        test=dataset_file("test"),
    output:
        train="results/{experiment}/data/train.tsv",
        valid="results/{experiment}/data/valid.tsv",
        test="results/{experiment}/data/test.tsv",
    log:
        "results/{experiment}/logs/prepare.log",
    benchmark:
        "results/{experiment}/benchmarks/prepare.tsv"
    params:
        columns=section("columns"),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/prepare.py"
