"""Rule `train`: stage-1 fine-tuning with progressive unfreezing and early stopping."""

from textclf.distributed import launch, processes
from textclf.logs import setup_logging
from textclf.stages import run_stage1

# guarded: launch's processes import this script again, as __mp_main__
if __name__ == "__main__":
    setup_logging(snakemake.log[0])
    launch(
        run_stage1,
        dict(
            model_name=snakemake.params.model,
            train_tsv=snakemake.input.train,
            valid_tsv=snakemake.input.valid,
            dataset_json=snakemake.input.dataset,
            settings=snakemake.params.training,
            out_dir=snakemake.output.checkpoint,
            threads=snakemake.threads,
            card=snakemake.params.card,
            best_yaml=snakemake.input.get("best"),
        ),
        processes(snakemake.resources),
        snakemake.log[0],
    )
