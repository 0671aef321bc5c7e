rule evaluate:
    input:
        unpack(labelled_splits),
        model=model_dir,
    output:
        metrics="results/{experiment}/metrics/{model}.json",
        per_class="results/{experiment}/metrics/{model}_per_class.tsv",
        probabilities="results/{experiment}/metrics/{model}_valid_probabilities.tsv",
    log:
        "results/{experiment}/logs/evaluate_{model}.log",
    benchmark:
        "results/{experiment}/benchmarks/evaluate_{model}.tsv"
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
