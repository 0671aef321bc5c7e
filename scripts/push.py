"""Rule `push`: upload the experiment's final model folder to a Hugging Face Hub."""

from textclf.logs import setup_logging
from textclf.push import push_model

setup_logging(snakemake.log[0])
push_model(
    folder=snakemake.input.model,
    repo_id=snakemake.params.push["repo_id"],
    token_env=snakemake.params.push["token_env"],
    private=snakemake.params.push["private"],
    out_json=snakemake.output.record,
    endpoint=snakemake.params.push.get("endpoint"),
)
