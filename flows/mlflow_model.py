"""The MLflow pyfunc wrapper that carries a saved Hugging Face vision-language model folder.

Why pyfunc and not MLflow's transformers flavor: the flavor cannot log a vision-language processor
with transformers 5 (it tries to build a pipeline and fails to guess the processor, measured
with MLflow 3.17). A `PythonModel` whose only artifact is the `save_pretrained` folder logs and
registers every family we support, keeps the registry the source of truth, and lets `mlflow ui`
show the versions. The audit itself never goes through `predict`: it downloads the artifact folder
and calls `auditors.load_pretrained` (safetensors only, no remote code). `predict` exists so that a
registered version is still a usable MLflow model (captions for a table of image paths + prompts).

This class must stay in an importable module of the package: MLflow pickles the instance by
reference to `flows.mlflow_model.HFVisionLanguageModel`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow.pyfunc

HF_DIR_ARTIFACT = "hf_dir"


class HFVisionLanguageModel(mlflow.pyfunc.PythonModel):
    """Loads the model folder shipped as artifact `hf_dir`; `predict` captions images."""

    def load_context(self, context: Any) -> None:
        from auditors import load_pretrained

        self.hf_dir = Path(context.artifacts[HF_DIR_ARTIFACT])
        self.model, self.processor = load_pretrained(self.hf_dir)

    def predict(self, context: Any, model_input: list[dict[str, str]], params: dict[str, Any] | None = None) -> list[str]:
        """`model_input`: rows with `image` (a path) and `prompt`.

        Returns the generated answer per row (greedy decoding, as in an audit).
        """
        from auditors import explain

        rows = model_input.to_dict("records") if hasattr(model_input, "to_dict") else list(model_input)
        answers: list[str] = []
        for row in rows:
            explanation = explain(self.model, self.processor, row["image"], row["prompt"], methods=("logit_lens",))
            answers.append(explanation.answer)
        return answers
