"""Rule `train`: stage-1 fine-tuning with progressive unfreezing and early stopping."""

from textclf.distributed import processes
from textclf.logs import setup_logging
from textclf.stages import rule_paths, train

# guarded: the training processes import this script again, as __mp_main__
if __name__ == "__main__":
    setup_logging(snakemake.log[0])
    train(
        snakemake.params.settings,
        rule_paths(snakemake),
        snakemake.threads,
        processes(snakemake.resources),
        snakemake.log[0],
    )
