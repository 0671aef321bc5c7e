# One download rule per dataset folder that an experiment with a `download:` block reads and
# that has no train.tsv yet; a folder that holds the files (a local copy) is used as it is.
for _folder, _spec in downloads().items():

    rule:
        name:
            f"download_{_spec['experiment']}"
        output:
            **layout.downloaded(_folder, _spec),
        log:
            layout.workflow_file("logs", f"download_{_spec['experiment']}.log"),
        params:
            settings={k: v for k, v in _spec.items() if k != "experiment"},
        threads: 1
        resources:
            mem_mb=2000,
            runtime=30,
        conda:
            "../envs/data.yaml"
        script:
            "../scripts/download.py"
