rule figures:
    input:
        unpack(figure_inputs),
    output:
        class_distribution=report(
            "results/{experiment}/figures/class_distribution.png",
            caption="../report/class_distribution.rst",
            category="{experiment}",
            subcategory="1 data",
        ),
        training_curves=report(
            "results/{experiment}/figures/training_curves.png",
            caption="../report/training_curves.rst",
            category="{experiment}",
            subcategory="2 training",
        ),
        confusion_matrix=report(
            "results/{experiment}/figures/confusion_matrix.png",
            caption="../report/confusion_matrix.rst",
            category="{experiment}",
            subcategory="3 evaluation",
        ),
        per_class=report(
            "results/{experiment}/figures/per_class.png",
            caption="../report/per_class.rst",
            category="{experiment}",
            subcategory="3 evaluation",
        ),
        frequency_vs_f1=report(
            "results/{experiment}/figures/frequency_vs_f1.png",
            caption="../report/frequency_vs_f1.rst",
            category="{experiment}",
            subcategory="3 evaluation",
        ),
        precision_recall=report(
            "results/{experiment}/figures/precision_recall.png",
            caption="../report/precision_recall.rst",
            category="{experiment}",
            subcategory="3 evaluation",
        ),
        threshold_analysis=report(
            "results/{experiment}/figures/threshold_analysis.png",
            caption="../report/threshold_analysis.rst",
            category="{experiment}",
            subcategory="3 evaluation",
        ),
        embedding_map=report(
            "results/{experiment}/figures/embedding_map.png",
            caption="../report/embedding_map.rst",
            category="{experiment}",
            subcategory="3 evaluation",
        ),
    log:
        "results/{experiment}/logs/figures.log",
    benchmark:
        "results/{experiment}/benchmarks/figures.tsv"
    params:
        max_length=max_length,
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/figures.py"


use rule figures as figures_multilabel with:
    output:
        labels_per_sample=report(
            "results/{experiment}/figures/labels_per_sample.png",
            caption="../report/labels_per_sample.rst",
            category="{experiment}",
            subcategory="3 evaluation",
        ),
    log:
        "results/{experiment}/logs/figures_multilabel.log",
    benchmark:
        "results/{experiment}/benchmarks/figures_multilabel.tsv"


use rule figures as hardest_examples with:
    input:
        hard="results/{experiment}/mine/misclassified.tsv",
    output:
        hardest_examples=report(
            "results/{experiment}/figures/hardest_examples.html",
            caption="../report/hardest_examples.rst",
            category="{experiment}",
            subcategory="4 hard examples",
        ),
    log:
        "results/{experiment}/logs/hardest_examples.log",
    benchmark:
        "results/{experiment}/benchmarks/hardest_examples.tsv"
