"""Config sections become typed settings in one way: unknown keys are errors naming the section."""

import pytest

from textclf.augment import LLMSettings
from textclf.baselines import ScratchSettings
from textclf.config import from_section
from textclf.prepare import DataSettings
from textclf.training import TrainSettings


@pytest.mark.parametrize(
    ("cls", "what", "good"),
    [
        (TrainSettings, "train", {"epochs": 2}),
        (DataSettings, "data", {"valid_share": 0.2}),
        (LLMSettings, "llm", {"workers": 3}),
        (ScratchSettings, "baselines.scratch", {"epochs": 5}),
    ],
)
def test_known_keys_are_set_and_a_misspelt_one_is_named(cls, what, good):
    settings = from_section(cls, good, what)
    key, value = next(iter(good.items()))
    assert getattr(settings, key) == value
    assert from_section(cls, None, what) == cls()
    with pytest.raises(ValueError, match=rf"unknown {what} settings: epochz, lr"):
        from_section(cls, {**good, "lr": 1, "epochz": 3}, what)


def test_training_metric_is_checked():
    with pytest.raises(ValueError, match="metric must be auto or one of"):
        from_section(TrainSettings, {"metric": "f2"}, "train")
