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


# Every model's latency and throughput, one model after another in one job (parallel evaluate
# jobs share the cores, so their times do not compare).
rule speed:
    input:
        models=model_folders,
        valid="results/{experiment}/data/valid.tsv",
    output:
        speed="results/{experiment}/metrics/speed.tsv",
    log:
        "results/{experiment}/logs/speed.log",
    params:
        models=model_names,
        max_length=max_length,
    threads: all_cores
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/speed.py"
