"""What one rule takes from an experiment's resolved settings: the projections of the
settings into the params of training, stage-2 fine-tuning, the model card and a baseline."""

from __future__ import annotations

import os


def training_params(settings: dict) -> dict:
    """What stage-1 training takes from an experiment's resolved settings (the train rule's
    params and `python -m textclf train`'s)."""
    return {
        **settings["train"],
        "max_length": settings["model"]["max_length"],
        "positive_label": settings["positive_label"],
    }


# finetune's settings that are not training settings: how stage 2 builds its rows
STAGE2_ONLY = ("original_per_hard", "recipe", "hard_weight")


def finetune_params(settings: dict) -> dict:
    """Stage 2's training settings: stage 1's, overridden by the finetune section."""
    overrides = {k: v for k, v in settings["finetune"].items() if k not in STAGE2_ONLY}
    return {**training_params(settings), **overrides}


def card_params(settings: dict, experiment: str) -> dict:
    """What the model card says beyond what training knows: name, dataset, license, tags."""
    dataset = os.path.basename(os.path.normpath(settings["dataset"]))
    return {"name": experiment, "dataset": dataset, **settings["model"]["card"]}


def baseline_params(settings: dict, baseline: str) -> dict:
    return {**settings["baselines"][baseline], "seed": settings["train"]["seed"]}
