rule prepare:
    input:
        unpack(dataset_files),
    output:
        train="results/{experiment}/data/train.tsv",
        valid="results/{experiment}/data/valid.tsv",
        test="results/{experiment}/data/test.tsv",
        dataset="results/{experiment}/data/dataset.json",
    log:
        "results/{experiment}/logs/prepare.log",
    benchmark:
        "results/{experiment}/benchmarks/prepare.tsv"
    params:
        columns=section("columns"),
        data=section("data"),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/prepare.py"
