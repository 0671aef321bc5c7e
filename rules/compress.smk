# Compressed copies of the final model, or of a compressed one (the int8 copies of the pruned
# and distilled models), as compress.models names them; each a model kind of its own.
rule compress:
    input:
        source=compressed_source,
        valid=layout.split("{experiment}", "valid"),
    output:
        model=directory(layout.path("{experiment}{member}", "compressed", "{model}")),
    log:
        layout.log("{experiment}{member}", "compress_{model}"),
    benchmark:
        layout.benchmark("{experiment}{member}", "compress_{model}")
    params:
        settings=stage_settings("compress"),
    wildcard_constraints:
        model="|".join(registry.made_by("compress_{name}")),
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/compress.py"


rule prune:
    input:
        source=final_checkpoint,
        train=layout.split("{experiment}", "train"),
        valid=layout.split("{experiment}", "valid"),
    output:
        model=directory(registry.model_folder("{experiment}{member}", "pruned")),
    log:
        layout.log("{experiment}{member}", "prune"),
    benchmark:
        layout.benchmark("{experiment}{member}", "prune")
    params:
        settings=stage_settings("compress", kind="pruned"),
    threads: 2
    resources:
        mem_mb=6000,
        runtime=240,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/compress.py"


rule distill:
    input:
        source=final_checkpoint,
        train=layout.split("{experiment}", "train"),
        valid=layout.split("{experiment}", "valid"),
    output:
        model=directory(registry.model_folder("{experiment}{member}", "distilled")),
    log:
        layout.log("{experiment}{member}", "distill"),
    benchmark:
        layout.benchmark("{experiment}{member}", "distill")
    params:
        settings=stage_settings("compress", kind="distilled"),
    threads: 2
    resources:
        mem_mb=6000,
        runtime=480,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/compress.py"
