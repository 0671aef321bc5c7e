rule baseline:
    input:
        train=layout.split("{experiment}", "train"),
        valid=layout.split("{experiment}", "valid"),
        dataset=layout.dataset_json("{experiment}"),
    output:
        model=directory(layout.path("{experiment}{member}", "baselines", "{baseline}")),
    log:
        layout.log("{experiment}{member}", "baseline_{baseline}"),
    benchmark:
        layout.benchmark("{experiment}{member}", "baseline_{baseline}")
    params:
        settings=stage_settings("baseline"),
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/baseline.py"


rule comparison:
    input:
        unpack(comparison_inputs),
    output:
        table=report(
            layout.comparison("{experiment}"),
            caption="../report/comparison.rst",
            category="{experiment}",
            subcategory="5 comparison",
        ),
    log:
        layout.log("{experiment}", "comparison"),
    params:
        settings=stage_settings("comparison"),
        evaluated=evaluated,
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/comparison.py"
