"""The kinds of model an experiment produces, in one registry.

A kind is one entry: its name (the `{model}` wildcard, the metrics file and the row of
`comparison.tsv`), its role (a `stage` of the method, or a `baseline`), the folder it is saved
in, whether an experiment with given settings produces it, and the class that loads a saved
folder and runs it ("module:Class", imported only when a folder is loaded, so this module,
which the Snakefile imports, needs neither torch nor transformers). The rules' model lists and
wildcard constraints, the schema's list of baselines and the comparison derive from here.
Adding a kind is one class (a `textclf.predictor.Predictor`) plus one `register(...)`.

Every saved model folder declares its kind, size in parameters and training time in
`manifest.json`, so any folder can be loaded and measured without guessing from its files.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from textclf import layout

MANIFEST = "manifest.json"
DEFAULT_MAX_LENGTH = 128  # a folder whose manifest predates `max_length`
# wraps a loaded predictor so it prepares raw texts as the model's training data were
PREPROCESSED = "textclf.predictor:Preprocessed"
STAGE, BASELINE, COMPRESSED, ENSEMBLE = "stage", "baseline", "compressed", "ensemble"


@dataclass(frozen=True)
class ModelKind:
    name: str
    role: str  # STAGE (the method's trained stages, in order), BASELINE, COMPRESSED or ENSEMBLE
    predictor: str  # "module:Class" of the Predictor that loads a saved folder
    produced: Callable[[dict], bool]  # whether an experiment with these settings has one
    folder: str = "checkpoints"  # under results/<experiment>/
    made_by: str = ""  # the rule that makes it ("{name}": the kind's name)
    source: str = ""  # a compressed kind: the kind it is made from ("": the final stage)
    seeded: bool = True  # trained once per seed (`seeds`); False: made once from every seed's


KINDS: dict[str, ModelKind] = {}


def register(kind: ModelKind) -> ModelKind:
    KINDS[kind.name] = kind
    return kind


def _baseline(name: str, predictor: str) -> ModelKind:
    """A baseline an experiment trains when `baselines.models` names it."""
    return ModelKind(
        name,
        BASELINE,
        predictor,
        produced=lambda s: name in s["baselines"]["models"],
        folder="baselines",
        made_by="baseline_{name}",
    )


def _compressed(name: str, predictor: str, made_by: str, source: str = "") -> ModelKind:
    """A compressed copy of the experiment's final model, or of the compressed model `source`
    (compress.models). A kind others are made from is produced, and compared, whenever one of
    them is named."""

    def produced(settings: dict) -> bool:
        chosen = settings["compress"]["models"]
        return name in chosen or any(KINDS[other].source == name for other in chosen)

    return ModelKind(
        name,
        COMPRESSED,
        predictor,
        produced,
        folder="compressed",
        made_by=made_by,
        source=source,
    )


register(_baseline("scratch", "textclf.baselines:ScratchModel"))
register(_baseline("tfidf", "textclf.baselines:TfidfModel"))
register(
    ModelKind("stage1", STAGE, "textclf.inference:Classifier", lambda s: True, made_by="train")
)
register(
    ModelKind(
        "finetuned",
        STAGE,
        "textclf.inference:Classifier",
        produced=lambda s: s["hard_examples"],
        made_by="finetune",
    )
)
register(_compressed("onnx", "textclf.compression:OnnxModel", "compress_{name}"))
register(_compressed("onnx-int8", "textclf.compression:OnnxModel", "compress_{name}"))
register(_compressed("pruned", "textclf.inference:Classifier", "prune"))
register(_compressed("distilled", "textclf.inference:Classifier", "distill"))
# int8 ONNX copies of the pruned and distilled models: the two compressions combined
register(
    _compressed("pruned-onnx-int8", "textclf.compression:OnnxModel", "compress_{name}", "pruned")
)
register(
    _compressed(
        "distilled-onnx-int8", "textclf.compression:OnnxModel", "compress_{name}", "distilled"
    )
)
# The mean of the seeds' probabilities of one model (evaluation.ensemble), with seeds > 1.
register(
    ModelKind(
        "ensemble",
        ENSEMBLE,
        "textclf.ensemble:EnsembleModel",
        produced=lambda s: len(s["seeds"]) > 1,
        made_by="ensemble",
        seeded=False,
    )
)


def names(role: str | None = None) -> list[str]:
    return [name for name, kind in KINDS.items() if role in (None, kind.role)]


def made_by(rule: str) -> list[str]:
    """The kinds one rule makes, by its `made_by` template (e.g. "compress_{name}")."""
    return [name for name, kind in KINDS.items() if kind.made_by == rule]


def models(settings: dict, role: str | None = None, seeded: bool | None = None) -> list[str]:
    """The models an experiment with these resolved settings produces: baselines, the method's
    stages, compressed models, then the ensemble; `seeded=True`: those trained once per seed
    (every one but the ensemble)."""
    produced = [
        k
        for k in KINDS.values()
        if role in (None, k.role) and seeded in (None, k.seeded) and k.produced(settings)
    ]
    order = [BASELINE, STAGE, COMPRESSED, ENSEMBLE]
    return [k.name for k in sorted(produced, key=lambda k: order.index(k.role))]


def final_stage(settings: dict) -> str:
    """The method's last stage in an experiment: the model compressed copies start from."""
    return models(settings, STAGE)[-1]


def source(settings: dict, name: str) -> str:
    """The model a compressed kind is made from: its source kind, or the final stage."""
    return KINDS[name].source or final_stage(settings)


def runs(experiment: str, settings: dict) -> dict[int, tuple[str, list[str]]]:
    """Seed -> (where its models live, its models): the first seed has every model of the
    experiment, each other seed every model trained per seed (layout.members)."""
    return {
        seed: (run, models(settings) if i == 0 else models(settings, seeded=True))
        for i, (seed, run) in enumerate(layout.members(experiment, settings["seeds"]).items())
    }


def evaluated(experiment: str, settings: dict) -> dict[int, dict[str, dict[str, str]]]:
    """Seed -> model -> what `evaluate` wrote of it that the comparisons read (metrics,
    predictions: layout.evaluated), every model of every seed."""
    return {
        seed: {model: layout.evaluated(run, model) for model in names}
        for seed, (run, names) in runs(experiment, settings).items()
    }


def tracked(experiment: str, settings: dict) -> dict[str, dict]:
    """What `track` logs of each model of each seed, by run name (the model's name for the
    first seed, `<model>/seeds/<seed>` for another's): its folder, metrics file, kind and seed."""
    found = {}
    for i, (seed, (run, names)) in enumerate(runs(experiment, settings).items()):
        for name in names:
            found[name if i == 0 else f"{name}/seeds/{seed}"] = {
                "folder": model_folder(run, name),
                "metrics": layout.metrics(run, name),
                "kind": name,
                "seed": seed,
            }
    return found


def ensembled(settings: dict) -> str:
    """The model whose seeds the ensemble averages (evaluation.ensemble; final: the last stage)."""
    chosen = settings["evaluation"]["ensemble"]
    return final_stage(settings) if chosen == "final" else chosen


def comparisons(settings: dict) -> list[tuple[str, str]]:
    """The pairs (a, b) whose difference a - b significance.tsv tests: stage 2 vs stage 1,
    stage 1 vs each baseline, each compressed model vs its source, the ensemble vs the model
    it averages."""
    produced = models(settings)
    pairs = [("finetuned", "stage1")] if "finetuned" in produced else []
    pairs += [("stage1", name) for name in models(settings, BASELINE)]
    pairs += [(name, source(settings, name)) for name in models(settings, COMPRESSED)]
    if "ensemble" in produced:
        pairs.append(("ensemble", ensembled(settings)))
    return pairs


def predicting(settings: dict) -> str:
    """The model that writes prediction.csv (predict.model; final: the last stage)."""
    chosen = settings["predict"]["model"]
    return final_stage(settings) if chosen == "final" else chosen


def model_folder(experiment: str, name: str) -> str:
    return layout.path(experiment, KINDS[name].folder, name)


def model_folders(experiment: str, settings: dict, role: str | None = None) -> dict[str, str]:
    """Model name -> saved folder, for every model the experiment produces (of `role`), in
    `models` order."""
    return {name: model_folder(experiment, name) for name in models(settings, role)}


def write_manifest(folder, kind: str, parameters: int, train_seconds: float, **facts) -> None:
    """Declare a model folder's kind (a registry name) and what it cost."""
    record = {
        "kind": kind,
        "parameters": int(parameters),
        "train_seconds": round(float(train_seconds), 2),
        **facts,
    }
    (Path(folder) / MANIFEST).write_text(json.dumps(record, indent=2) + "\n")


def text_facts(source, max_length: int | None = None) -> dict:
    """How a model's input texts are prepared, for its manifest: the `preprocess` of the data
    it learnt from and its `max_length` in tokens, taken from `source` (the dataset.json
    `prepare` wrote, or the model folder it was made from); a given `max_length` wins."""
    path = Path(source)
    record = json.loads((path / MANIFEST if path.is_dir() else path).read_text())
    facts = {"preprocess": record.get("preprocess", "none")}
    facts["max_length"] = int(max_length or record.get("max_length", DEFAULT_MAX_LENGTH))
    return facts


def read_manifest(folder) -> dict:
    """A model folder's manifest; a folder that is not one raises DataError (one line naming
    the folder and what is wrong)."""
    from textclf.tsv import DataError  # pandas, only on the way out

    path = Path(folder) / MANIFEST
    if not Path(folder).is_dir():
        raise DataError(f"{folder}: no such model folder")
    if not path.exists():
        made = (Path(folder) / "config.json").exists()
        raise DataError(
            f"{folder}: no {MANIFEST} saying what kind of model this is"
            + (
                " (a Hugging Face folder not made by this workflow? load it with transformers)"
                if made
                else " (not a model folder of this workflow, or one cut short: rerun the rule "
                "that makes it)"
            )
        )
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise DataError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(record, dict) or record.get("kind") not in KINDS:
        kind = record.get("kind") if isinstance(record, dict) else None
        raise DataError(f"{path}: unknown model kind {kind!r} (registered: {', '.join(KINDS)})")
    return record


def predictor_class(kind: str):
    module, name = KINDS[kind].predictor.split(":")
    return getattr(importlib.import_module(module), name)


def load_predictor(folder, threads: int = 1, max_length: int | None = None):
    """The Predictor of any saved model folder, by the kind its manifest declares, taking raw
    texts: they are prepared as its training data were (the manifest's `preprocess`) and cut
    at its `max_length` unless another is given."""
    record = read_manifest(folder)
    if max_length is None and KINDS[record["kind"]].role != ENSEMBLE:  # members: their own
        max_length = record.get("max_length", DEFAULT_MAX_LENGTH)
    predictor = predictor_class(record["kind"]).load(folder, threads=threads, max_length=max_length)
    if record.get("preprocess", "none") != "none":
        module, name = PREPROCESSED.split(":")
        predictor = getattr(importlib.import_module(module), name)(predictor, record["preprocess"])
    return predictor


def footprint(folder) -> dict:
    """Parameters, size on disk and training time of any saved model folder."""
    record = read_manifest(folder)
    size = sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())
    return {
        "parameters": record["parameters"],
        "size_bytes": size,
        "train_seconds": record["train_seconds"],
    }
