# Not part of any default target: ask for results/<experiment>/push.json once push.repo_id is
# set and the token is in the environment variable named by push.token_env.
rule push:
    input:
        model=final_checkpoint,
        metrics=final_metrics,
    output:
        record="results/{experiment}/push.json",
    log:
        "results/{experiment}/logs/push.log",
    params:
        push=section("push"),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/push.py"
