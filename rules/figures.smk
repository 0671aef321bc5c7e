rule figures:
    input:
        unpack(figure_inputs),
    output:
        class_distribution=report(
            layout.figure("{experiment}", "class_distribution"),
            caption="../report/class_distribution.rst",
            category="{experiment}",
            subcategory="1 data",
        ),
        training_curves=report(
            layout.figure("{experiment}", "training_curves"),
            caption="../report/training_curves.rst",
            category="{experiment}",
            subcategory="2 training",
        ),
        confusion_matrix=report(
            layout.figure("{experiment}", "confusion_matrix"),
            caption="../report/confusion_matrix.rst",
            category="{experiment}",
            subcategory="3 evaluation",
        ),
        per_class=report(
            layout.figure("{experiment}", "per_class"),
            caption="../report/per_class.rst",
            category="{experiment}",
            subcategory="3 evaluation",
        ),
        frequency_vs_f1=report(
            layout.figure("{experiment}", "frequency_vs_f1"),
            caption="../report/frequency_vs_f1.rst",
            category="{experiment}",
            subcategory="3 evaluation",
        ),
        precision_recall=report(
            layout.figure("{experiment}", "precision_recall"),
            caption="../report/precision_recall.rst",
            category="{experiment}",
            subcategory="3 evaluation",
        ),
        threshold_analysis=report(
            layout.figure("{experiment}", "threshold_analysis"),
            caption="../report/threshold_analysis.rst",
            category="{experiment}",
            subcategory="3 evaluation",
        ),
        embedding_map=report(
            layout.figure("{experiment}", "embedding_map"),
            caption="../report/embedding_map.rst",
            category="{experiment}",
            subcategory="3 evaluation",
        ),
    log:
        layout.log("{experiment}", "figures"),
    benchmark:
        layout.benchmark("{experiment}", "figures")
    params:
        settings=stage_settings("figures"),
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
            layout.figure("{experiment}", "labels_per_sample"),
            caption="../report/labels_per_sample.rst",
            category="{experiment}",
            subcategory="3 evaluation",
        ),
    log:
        layout.log("{experiment}", "figures_multilabel"),
    benchmark:
        layout.benchmark("{experiment}", "figures_multilabel")


use rule figures as hardest_examples with:
    input:
        hard=layout.hard_examples("{experiment}"),
        mine_stats=layout.mine_stats("{experiment}"),
    output:
        hardest_examples=report(
            layout.figure("{experiment}", "hardest_examples"),
            caption="../report/hardest_examples.rst",
            category="{experiment}",
            subcategory="4 hard examples",
        ),
    log:
        layout.log("{experiment}", "hardest_examples"),
    benchmark:
        layout.benchmark("{experiment}", "hardest_examples")
