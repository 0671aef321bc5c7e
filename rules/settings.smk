# The record of an experiment's resolved settings. No job reads it (targets take it as
# ancient), so rewriting it after a setting changed reruns nothing else. A local rule: on a
# cluster it writes on the submitting host rather than queueing a job.
rule settings:
    output:
        settings=layout.settings("{experiment}"),
    log:
        layout.log("{experiment}", "settings"),
    params:
        settings=stage_settings("settings"),
    localrule: True
    threads: 1
    resources:
        mem_mb=200,
        runtime=5,
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/settings.py"
