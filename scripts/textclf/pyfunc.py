"""Saved models as MLflow pyfunc models, so a tracked model can be loaded, registered and served
(`mlflow models serve -m runs:/<id>/model --env-manager local`) without the workflow.

`TextClassifier` is a `PythonModel` around the project's predictor of any kind (a transformer
folder, ONNX, int8, pruned, distilled, an ensemble, a baseline): the model folder travels as the
pyfunc model's artifact (an ensemble with its members' folders), the textclf package and its
settings schema (which the settings classes read on import) as its code, and the predictor
applies the folder's preprocessing and max length as every loader of the project does. It
takes a table with a `text` column and answers `label` and `score` per row, as `pipeline()`
does (multi-label: every label at or above its threshold and its probability, highest first).
The model is logged "from code" (a three-line file naming the class), so loading it unpickles
nothing.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from mlflow.pyfunc import PythonModel

from textclf.config.schema import SCHEMA_PATH

MODEL_CODE = """\
from mlflow.models import set_model

from textclf.pyfunc import TextClassifier

set_model(TextClassifier())
"""
# What the predictors import, pinned at the versions that saved the model.
REQUIREMENTS = (
    "torch",
    "transformers",
    "tokenizers",
    "safetensors",
    "pandas",
    "numpy",
    "scikit-learn",
    "scipy",
    "joblib",
    "onnxruntime",
    "emoji",
    "pyyaml",
)
EXAMPLE = "An example text to label."


class TextClassifier(PythonModel):
    """The project's predictor as an MLflow model."""

    def load_context(self, context) -> None:
        from textclf import registry

        self.predictor = registry.load_predictor(context.artifacts["model"])

    def predict(self, context, model_input, params=None) -> pd.DataFrame:
        from textclf.inference import labelled

        is_table = isinstance(model_input, pd.DataFrame | dict)
        texts = model_input["text"] if is_table else model_input
        return pd.DataFrame(labelled(self.predictor, [str(text) for text in texts]))


def requirements() -> list[str]:
    """Pins of what the predictors import, at the installed versions without a local label
    (PyTorch's CPU wheel is 2.13.0+cpu; the index has 2.13.0)."""
    found = []
    for name in (*REQUIREMENTS, "mlflow"):
        try:
            public = importlib.metadata.version(name).split("+")[0]
            found.append(f"{name}=={public}")
        except importlib.metadata.PackageNotFoundError:  # onnxruntime-gpu for onnxruntime, ...
            continue
    return found


def self_contained(model_dir, scratch) -> Path:
    """The folder to ship: `model_dir` itself, or for an ensemble (whose manifest names its
    members' folders relative to itself) a copy in `scratch` with its members inside."""
    from textclf import registry

    record = registry.read_manifest(model_dir)
    if "members" not in record:
        return Path(model_dir)
    copy = Path(scratch) / Path(model_dir).name
    shutil.copytree(model_dir, copy)
    members = [f"members/{i}" for i in range(len(record["members"]))]
    for member, inside in zip(record["members"], members, strict=True):
        shutil.copytree(Path(model_dir) / member, copy / inside)
    facts = {k: v for k, v in record.items() if k not in ("kind", "parameters", "train_seconds")}
    registry.write_manifest(
        copy, record["kind"], record["parameters"], record["train_seconds"],
        **{**facts, "members": members},
    )  # fmt: skip
    return copy


def save_pyfunc(model_dir, out_dir) -> None:
    """Save `model_dir` (any model folder of the project) as a pyfunc model in `out_dir`, with
    its signature (a `text` column in; `label` and `score` out) and an input example."""
    import mlflow.pyfunc
    from mlflow.models import infer_signature

    from textclf import registry
    from textclf.inference import labelled

    example = pd.DataFrame({"text": [EXAMPLE]})
    predictor = registry.load_predictor(model_dir)
    signature = infer_signature(example, pd.DataFrame(labelled(predictor, [EXAMPLE])))
    with tempfile.TemporaryDirectory() as scratch:
        code = Path(scratch) / "model_code.py"
        code.write_text(MODEL_CODE)
        mlflow.pyfunc.save_model(
            str(out_dir),
            python_model=str(code),
            artifacts={"model": str(self_contained(model_dir, scratch))},
            code_paths=[str(Path(__file__).parent), str(SCHEMA_PATH.parent)],
            signature=signature,
            input_example=example,
            pip_requirements=requirements(),
        )


@contextmanager
def pyfunc_folder(model_dir):
    """A pyfunc model of `model_dir` in a temporary folder, removed on leaving."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "model"
        save_pyfunc(model_dir, out)
        yield out
