# The seeds' ensemble (seeds > 1) and the paired tests of every comparison.
rule ensemble:
    input:
        members=ensemble_members,
    output:
        model=directory(registry.model_folder("{experiment}", "ensemble")),
    log:
        layout.log("{experiment}", "ensemble"),
    params:
        settings=stage_settings("ensemble"),
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/ensemble.py"


rule significance:
    input:
        unpack(significance_inputs),
    output:
        table=report(
            layout.significance("{experiment}"),
            caption="../report/significance.rst",
            category="{experiment}",
            subcategory="5 comparison",
        ),
        verdicts=layout.verdicts("{experiment}"),
        figure=report(
            layout.seeds_figure("{experiment}"),
            caption="../report/scores_by_seed.rst",
            category="{experiment}",
            subcategory="5 comparison",
        ),
    log:
        layout.log("{experiment}", "significance"),
    params:
        settings=stage_settings("significance"),
        evaluated=evaluated,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/significance.py"
