# Not part of any default target: ask for results/<experiment>/push.json once push.repo_id is
# set and the token is in the environment variable named by push.token_env.
rule push:
    input:
        model=final_checkpoint,
        metrics=final_metrics,
    output:
        record=layout.push_record("{experiment}"),
    log:
        layout.log("{experiment}", "push"),
    params:
        settings=stage_settings("push"),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/push.py"
