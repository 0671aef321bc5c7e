"""Saved models as MLflow pyfunc models, so a tracked model can be loaded, registered and served
(`mlflow models serve -m runs:/<id>/model --env-manager local`) without the workflow.

`TextClassifier` is a `PythonModel` around the project's predictor of any kind (a transformer
folder, ONNX, int8, pruned, distilled, an ensemble, a baseline): the model folder travels as the
pyfunc model's artifact, the textclf package as its code, and the predictor applies the folder's
preprocessing and max length as every loader of the project does. It takes a table with a
`text` column and answers `label` and `score` per row, as `pipeline()` does (multi-label: every
label at or above its threshold and its probability, highest first). The model is logged "from
code" (a three-line file naming the class), so loading it unpickles nothing.
"""

from __future__ import annotations

import importlib.metadata
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from mlflow.pyfunc import PythonModel

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
    "joblib",
    "onnxruntime",
    "emoji",
    "pyyaml",
)
EXAMPLE = "Nine new cases of COVID-19 were confirmed in the county today."


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
    found = []
    for name in REQUIREMENTS:
        try:
            found.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return [*found, f"mlflow=={importlib.metadata.version('mlflow')}"]


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
            artifacts={"model": str(model_dir)},
            code_paths=[str(Path(__file__).parent)],
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
