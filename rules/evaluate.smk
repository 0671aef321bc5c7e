rule evaluate:
    input:
        unpack(labelled_splits),
        checkpoint=checkpoint_dir,
    output:
        metrics="results/{experiment}/metrics/{stage}.json",
        per_class="results/{experiment}/metrics/{stage}_per_class.tsv",
    log:
        "results/{experiment}/logs/evaluate_{stage}.log",
    benchmark:
        "results/{experiment}/benchmarks/evaluate_{stage}.tsv"
    params:
        positive_label=positive_label,
        max_length=max_length,
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/evaluate.py"
