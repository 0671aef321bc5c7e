# Every model of an experiment (and its search's trials) as MLflow runs, logged from the files
# the other rules wrote (a failed attempt counts in tracking.failures, a param: the next run
# tracks again). One job at a time (resource tracking_store, capped at 1 in the
# profiles), so parallel jobs never race on the SQLite store. No job reads its record (targets
# take it as ancient): a tracking change reruns only this rule.
rule track:
    input:
        unpack(tracking_inputs),
    output:
        record=layout.tracking_record("{experiment}"),
    log:
        layout.log("{experiment}", "track"),
    params:
        settings=stage_settings("track"),
        models=tracked_models,
        journal=search_journal,
        failed_attempts=tracking_failures,
    localrule: True
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
        tracking_store=1,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/track.py"
