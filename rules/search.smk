# Hyperparameter search (search.enabled): one job creates the study, search.workers worker
# jobs run trials on it at once (locally or as cluster jobs), one job reads the best trial.
# The study's journal file is no rule's output, so a failed or killed worker loses nothing.
rule search_study:
    input:
        train=layout.split("{experiment}", "train"),
        dataset=layout.dataset_json("{experiment}"),
    output:
        study=layout.search("{experiment}", "study.json"),
    log:
        layout.log("{experiment}", "search_study"),
    params:
        settings=stage_settings("search"),
        journal=search_journal,
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/search.py"


rule search_worker:
    input:
        study=layout.search("{experiment}", "study.json"),
        train=layout.split("{experiment}", "train"),
        dataset=layout.dataset_json("{experiment}"),
    output:
        worker=layout.search_worker("{experiment}", "{worker}"),
    log:
        layout.log("{experiment}", "search_worker_{worker}"),
    benchmark:
        layout.benchmark("{experiment}", "search_worker_{worker}")
    params:
        settings=stage_settings("search"),
        journal=search_journal,
    threads: worker_threads
    resources:
        mem_mb=6000,
        runtime=480,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/search.py"


rule search_best:
    input:
        study=layout.search("{experiment}", "study.json"),
        workers=search_workers,
    output:
        best=layout.search("{experiment}", "best.yaml"),
        trials=report(
            layout.search("{experiment}", "trials.tsv"),
            caption="../report/search_trials.rst",
            category="{experiment}",
            subcategory="0 search",
        ),
        history=report(
            layout.search("{experiment}", "optimization_history.png"),
            caption="../report/search_history.rst",
            category="{experiment}",
            subcategory="0 search",
        ),
        importances=report(
            layout.search("{experiment}", "param_importances.png"),
            caption="../report/search_importances.rst",
            category="{experiment}",
            subcategory="0 search",
        ),
    log:
        layout.log("{experiment}", "search_best"),
    params:
        settings=stage_settings("search"),
        journal=search_journal,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/search.py"
