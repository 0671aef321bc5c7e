"""Rule `finetune`: stage 2 on original plus hard rows, from the stage-1 best weights."""

from textclf.distributed import launch, processes
from textclf.logs import setup_logging
from textclf.stages import run_stage2

# guarded: launch's processes import this script again, as __mp_main__
if __name__ == "__main__":
    setup_logging(snakemake.log[0])
    launch(
        run_stage2,
        dict(
            stage1_dir=snakemake.input.stage1,
            train_tsv=snakemake.input.train,
            hard_tsv=snakemake.input.hard,
            valid_tsv=snakemake.input.valid,
            settings=snakemake.params.training,
            original_per_hard=snakemake.params.original_per_hard,
            out_dir=snakemake.output.checkpoint,
            threads=snakemake.threads,
            card=snakemake.params.card,
        ),
        processes(snakemake.resources),
        snakemake.log[0],
    )
