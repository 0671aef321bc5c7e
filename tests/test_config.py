"""The configuration contract: one source of defaults (the schema), settings merged at every
depth, every mistake one line naming the key, typed settings that agree with the schema."""

import subprocess
import sys

import pytest
import yaml
from conftest import DEMO, EMOTIONS, REPO

from textclf import config as contract
from textclf import packaged
from textclf.augment import LLMSettings
from textclf.baselines import ScratchSettings, TfidfSettings
from textclf.config import SettingsError, check, experiment_settings, from_section
from textclf.config.docs import reference
from textclf.config.schema import _known_keys, _section_node
from textclf.prepare import DataSettings
from textclf.training import TrainSettings


def demo_config(**sections) -> dict:
    """The repository's config.yaml with absolute dataset paths, plus `sections`."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["experiments"]["demo"]["dataset"] = str(DEMO)
    config["experiments"]["demo_emotions"]["dataset"] = str(EMOTIONS)
    return contract.deep_merge(config, sections)


def mistake(**sections) -> str:
    with pytest.raises(SettingsError) as caught:
        check(demo_config(**sections))
    message = str(caught.value)
    assert "\n" not in message
    return message


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


@pytest.mark.parametrize(
    ("cls", "section", "extra"),
    [
        (TrainSettings, "train", {"max_length", "positive_label"}),
        (DataSettings, "data", set()),
        (LLMSettings, "llm", set()),
        (ScratchSettings, "baselines.scratch", {"seed"}),
        (TfidfSettings, "baselines.tfidf", {"seed"}),
    ],
)
def test_settings_classes_take_every_key_and_default_from_the_schema(cls, section, extra):
    node = _section_node(section)
    keys = list(node["properties"])
    assert {f for f in cls.__dataclass_fields__} == set(keys) | extra
    defaults = cls()
    for key in keys:
        assert getattr(defaults, key) == contract.default(f"{section}.{key}"), key


def test_resolved_settings_hold_every_key_with_defaults_and_merge_at_every_depth():
    config = demo_config(model={"card": {"tags": ["covid"]}}, train={"epochs": 3})
    config["experiments"]["demo"] |= {"model": {"card": {"license": "mit"}}, "finetune": {}}
    settings = experiment_settings(config, "demo")
    assert settings["model"]["card"] == {"license": "mit", "language": ["en"], "tags": ["covid"]}
    assert settings["model"]["name"] == "sentence-transformers/all-MiniLM-L6-v2"
    for section in contract.SECTIONS:
        node = _section_node(section)
        assert set(_known_keys(node)) <= set(settings[section]), section
    assert settings["train"]["epochs"] == 3 and settings["train"]["patience"] == 2
    # stage 2 takes its own defaults, then stage 1's values for what it does not set
    assert settings["finetune"]["epochs"] == 4 and settings["finetune"]["learning_rate"] == 2e-5
    assert settings["finetune"]["batch_size"] == settings["train"]["batch_size"]
    assert settings["finetune"]["original_per_hard"] == 1.0
    assert settings["positive_label"] == "INFORMATIVE" and settings["hard_examples"] is True
    other = experiment_settings(config, "demo_emotions")
    assert other["model"]["card"]["license"] == "apache-2.0"  # the override was demo's alone


def test_config_yaml_and_presets_pass_and_repeat_no_default():
    config = demo_config()
    mpnet = REPO / "presets" / "wnut2020_mpnet.yaml"
    for preset in sorted((REPO / "presets").glob("*.yaml")):
        if preset != mpnet:
            config = contract.deep_merge(config, yaml.safe_load(preset.read_text()))
    resolved = check(config)
    assert set(resolved) == {
        "demo",
        "demo_emotions",
        "ag_news",
        "covid_sentiment",
        "goemotions",
        "imdb_aspect",
        "wnut2020",
    }
    # the mpnet preset passes where its model is installed, else it names the command
    with_mpnet = contract.deep_merge(config, yaml.safe_load(mpnet.read_text()))
    try:
        packaged.check_installed("all-mpnet-base-v2")
    except packaged.NotInstalled:
        with pytest.raises(
            SettingsError, match=r"wnut2020_mpnet\.model\.name: .*setup\.sh --mpnet"
        ):
            check(with_mpnet)
    else:
        assert check(with_mpnet)["wnut2020_mpnet"]["model"]["name"] == "all-mpnet-base-v2"
    top = yaml.safe_load((REPO / "config.yaml").read_text())
    assert not set(top) & set(contract.SECTIONS), "config.yaml sets defaults of its own"


@pytest.mark.parametrize(
    ("sections", "expected"),
    [
        ({"trian": {"epochs": 1}}, "config: unknown section 'trian' (did you mean 'train'?)"),
        ({"train": {"epochz": 3}}, "train: unknown key 'epochz' (did you mean 'epochs'?)"),
        (
            {"augment": {"variantz": 3}},
            "augment: unknown key 'variantz' (did you mean 'variants'?)",
        ),
        ({"train": {"learning_rate": "fast"}}, "train.learning_rate: 'fast' is not a number"),
        (
            {"model": {"card": {"licence": "mit"}}},
            "model.card: unknown key 'licence' (did you mean 'license'?)",
        ),
        (
            {"train": {"unfreeze": "sometimes"}},
            "train.unfreeze: 'sometimes' is not one of epoch, plateau, none",
        ),
        ({"finetune": {"epohcs": 2}}, "finetune: unknown key 'epohcs' (did you mean 'epochs'?)"),
        (
            {"finetune": {"threshold": "high"}},
            "finetune.threshold: 'high' is not per_class | global or number, > 0, < 1",
        ),
        (
            {"baselines": {"models": ["scratch", "bert"]}},
            "baselines.models.1: 'bert' is not one of scratch, tfidf",
        ),
        ({"llm": {"workers": 0}}, "llm.workers: 0 is less than the minimum of 1"),
        (
            {"default_experiment": "nope"},
            "default_experiment: 'nope' is not an experiment (experiments: demo, demo_emotions)",
        ),
        ({"experiments": {"new": {"train": {}}}}, "experiments.new: 'dataset' is missing"),
        ({"search": {"space": {"optimizer": ["adam"]}}}, "search.space: unknown key 'optimizer'"),
        ({"search": {"sampler": "cmaes"}}, "search.sampler: 'cmaes' is not one of tpe, random"),
        (
            {"search": {"space": {"learning_rate": {"low": "1e-5", "high": 1.0e-4}}}},
            "search.space.learning_rate.low: '1e-5' is not a number (YAML reads 1e-5 as text: "
            "write it with a decimal point, e.g. 1.0e-5)",
        ),
    ],
)
def test_each_mistake_is_one_line_naming_the_key(sections, expected):
    assert mistake(**sections) == expected


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            {"demo": {"train": {"unfreeze_layers": 0}}},
            "experiments.demo.train.unfreeze_layers: 0 opens no layer while train.unfreeze is "
            "'epoch' (set unfreeze: none, or unfreeze_layers: 1 or more)",
        ),
        (
            {"demo": {"train": {"pos_weight": True}}},
            "experiments.demo.train.pos_weight: true has no meaning for the single-label "
            f"dataset {DEMO}",
        ),
        (
            {"demo_emotions": {"finetune": {"class_weights": True}}},
            "experiments.demo_emotions.finetune.class_weights: true has no meaning for the "
            f"multi-label dataset {EMOTIONS}",
        ),
        (
            {"demo": {"positive_label": "URGENT"}},
            f"experiments.demo.positive_label: 'URGENT' is not a label of {DEMO}/train.tsv "
            "(INFORMATIVE, UNINFORMATIVE)",
        ),
        (
            {"demo_emotions": {"train": {"metric": "f1_positive"}}},
            "experiments.demo_emotions.train.metric: 'f1_positive' has no meaning for the "
            f"multi-label dataset {EMOTIONS}",
        ),
        (
            {"demo": {"search": {"space": {"learning_rate": {"low": 1e-3, "high": 1e-4}}}}},
            "experiments.demo.search.space.learning_rate: empty or inverted range: low 0.001 "
            "is not below high 0.0001",
        ),
        (
            {"demo": {"search": {"space": {"warmup": {"low": 0.0, "high": 0.3, "log": True}}}}},
            "experiments.demo.search.space.warmup: a log range needs low above 0, not 0.0",
        ),
        (
            {"demo": {"search": {"space": {"batch_size": [16, 0]}}}},
            "experiments.demo.search.space.batch_size.1: 0 is less than the minimum of 1",
        ),
        (
            {"demo": {"search": {"space": {"epochs": {"low": 0, "high": 3}}}}},
            "experiments.demo.search.space.epochs: 0 is less than the minimum of 1",
        ),
        (
            {"demo": {"search": {"storage": "postgresql://ann:s3cret@db/optuna"}}},
            "experiments.demo.search.storage: holds a password, which would be written to "
            "settings.yaml and Snakemake's records; put it in PGPASSWORD or ~/.pgpass (or the "
            "database's own password file) instead",
        ),
        (
            {"demo": {"augment": {"similarity_band": [0.9, 0.5]}}},
            "experiments.demo.augment.similarity_band: low 0.9 is above high 0.5",
        ),
    ],
)
def test_impossible_combinations_are_named(override, expected):
    assert mistake(experiments=override) == expected


def test_unfreeze_layers_zero_is_fine_without_a_schedule():
    settings = check(demo_config(train={"unfreeze": "none", "unfreeze_layers": 0}))["demo"]
    assert settings["train"]["unfreeze_layers"] == 0


def test_a_top_level_option_serves_the_experiments_it_fits():
    # pos_weight for every experiment: meaningful for demo_emotions, ignored by the binary demo
    resolved = check(demo_config(train={"pos_weight": True}))
    assert resolved["demo"]["train"]["pos_weight"] is True


def test_the_settings_reference_is_current():
    assert (REPO / "docs" / "settings.md").read_text() == reference()


def test_validation_and_registry_import_without_torch_or_numpy():
    code = (
        "import sys; from textclf import config, registry; "
        "config.check(__import__('yaml').safe_load(open('config.yaml'))); "
        "heavy = {'torch', 'transformers', 'numpy', 'pandas'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    env = {"PYTHONPATH": str(REPO / "scripts")}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_seeds_resolve_to_a_list_whose_first_is_train_seed():
    assert experiment_settings(demo_config(), "demo")["seeds"] == [42]
    counted = experiment_settings(demo_config(seeds=3, train={"seed": 7}), "demo")
    assert counted["seeds"] == [7, 8, 9] and counted["finetune"]["seed"] == 7
    listed = experiment_settings(demo_config(seeds=[5, 1]), "demo")
    assert listed["seeds"] == [5, 1] and listed["train"]["seed"] == listed["finetune"]["seed"] == 5
    own = demo_config()
    own["experiments"]["demo"] |= {"seeds": 2, "finetune": {"seed": 50}}
    settings = experiment_settings(own, "demo")
    member = contract.member_settings(settings, 43)
    # the member's stage 1 takes its seed, stage 2 keeps its offset from stage 1 (50 - 42)
    assert member["train"]["seed"] == 43 and member["finetune"]["seed"] == 51
    assert settings["train"]["seed"] == 42  # the experiment's own settings are untouched


@pytest.mark.parametrize(
    ("sections", "expected"),
    [
        ({"seeds": 0}, "seeds: 0 is less than the minimum of 1"),
        ({"seeds": [1, 1]}, "seeds: [1, 1] has non-unique elements"),
        ({"evaluation": {"resamples": 100}}, "evaluation.resamples: 100 is less than the minimum"),
        ({"evaluation": {"confidence": 1.5}}, "evaluation.confidence: 1.5 is greater than"),
        (
            {"seeds": 2, "evaluation": {"ensemble": "ensemble"}},
            "experiments.demo.evaluation.ensemble: 'ensemble' is not a model this experiment "
            "trains (final, scratch, tfidf, stage1, finetuned)",
        ),
        (
            {"predict": {"model": "ensemble"}},
            "experiments.demo.predict.model: 'ensemble' is not a model this experiment produces",
        ),
    ],
)
def test_seed_and_evaluation_mistakes_are_one_line(sections, expected):
    assert mistake(**sections).startswith(expected)
