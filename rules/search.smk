# Hyperparameter search (search.enabled): one job creates the study, search.workers worker
# jobs run trials on it at once (locally or as cluster jobs), one job reads the best trial.
# The study's journal file is no rule's output, so a failed or killed worker loses nothing.
rule search_study:
    input:
        train="results/{experiment}/data/train.tsv",
        dataset="results/{experiment}/data/dataset.json",
    output:
        study="results/{experiment}/search/study.json",
    log:
        "results/{experiment}/logs/search_study.log",
    params:
        search=section("search"),
        training=training_settings,
        model=model_name,
        journal=search_journal,
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/search_study.py"


rule search_worker:
    input:
        study="results/{experiment}/search/study.json",
        train="results/{experiment}/data/train.tsv",
        dataset="results/{experiment}/data/dataset.json",
    output:
        worker="results/{experiment}/search/workers/{worker}.json",
    log:
        "results/{experiment}/logs/search_worker_{worker}.log",
    benchmark:
        "results/{experiment}/benchmarks/search_worker_{worker}.tsv"
    params:
        search=section("search"),
        training=training_settings,
        model=model_name,
        journal=search_journal,
    threads: worker_threads
    resources:
        mem_mb=6000,
        runtime=480,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/search_worker.py"


rule search_best:
    input:
        study="results/{experiment}/search/study.json",
        workers=search_workers,
    output:
        best="results/{experiment}/search/best.yaml",
        trials=report(
            "results/{experiment}/search/trials.tsv",
            caption="../report/search_trials.rst",
            category="{experiment}",
            subcategory="0 search",
        ),
        history=report(
            "results/{experiment}/search/optimization_history.png",
            caption="../report/search_history.rst",
            category="{experiment}",
            subcategory="0 search",
        ),
        importances=report(
            "results/{experiment}/search/param_importances.png",
            caption="../report/search_importances.rst",
            category="{experiment}",
            subcategory="0 search",
        ),
    log:
        "results/{experiment}/logs/search_best.log",
    params:
        search=section("search"),
        journal=search_journal,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/search_best.py"
