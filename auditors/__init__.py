"""mllm-audit's science core: per-token explanation maps of vision-language models.

    import auditors
    model, processor = auditors.load_pretrained("path/to/saved_model")
    exp = auditors.explain(model, processor, "image.png", "Describe the image.", methods=("tam", "msea_arc"))
    exp.word_map("msea_arc", "circle"); exp.save("out/explanation")
    exps = auditors.explain_batch(model, processor, images, "Describe the image.", batch_size=8)  # throughput

Pure science: torch, transformers, numpy/scipy/PIL/opencv only (no storage, flows, reports).
Heavy libraries are imported lazily inside functions, so importing this package is cheap.
"""

from auditors.adapters import adapter_for, supported_architectures
from auditors.errors import AuditorError, AuditorInputError, UnsupportedModelError
from auditors.explain import explain
from auditors.explain_batch import explain_batch
from auditors.explanation import Explanation
from auditors.loading import load_pretrained
from auditors.methods import available_methods
from auditors.settings import ExplainSettings

__all__ = [
    "AuditorError",
    "AuditorInputError",
    "ExplainSettings",
    "Explanation",
    "UnsupportedModelError",
    "adapter_for",
    "available_methods",
    "explain",
    "explain_batch",
    "load_pretrained",
    "supported_architectures",
]
