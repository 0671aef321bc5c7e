"""Rule `finetune`: stage 2 on original plus hard rows, from the stage-1 best weights."""

from textclf.distributed import processes
from textclf.logs import setup_logging
from textclf.stages import finetune, rule_paths

# guarded: the training processes import this script again, as __mp_main__
if __name__ == "__main__":
    setup_logging(snakemake.log[0])
    finetune(
        snakemake.params.settings,
        rule_paths(snakemake),
        snakemake.threads,
        processes(snakemake.resources),
        snakemake.log[0],
    )
