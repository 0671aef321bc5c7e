rule augment:
    input:
        train="results/{experiment}/data/train.tsv",
    output:
        augmented=protected("results/{experiment}/augment/augmented.tsv"),
        stats="results/{experiment}/augment/stats.json",
    log:
        main="results/{experiment}/logs/augment.log",
        server="results/{experiment}/logs/augment_llm_server.log",
    benchmark:
        "results/{experiment}/benchmarks/augment.tsv"
    params:
        llm=section("llm"),
        augment=section("augment"),
    threads: 2
    resources:
        mem_mb=2000,
        runtime=240,
    conda:
        "../envs/augment.yaml"
    script:
        "../scripts/augment.py"
