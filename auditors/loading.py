"""``load_pretrained``: a saved Hugging Face folder -> (model, processor), safely.

Safetensors only and never remote code: an audited model is untrusted input. The model class
comes from ``config.architectures`` through the adapter registry, so an unsupported family fails
before any weight is read.
"""

from __future__ import annotations

import json
from pathlib import Path

from auditors.adapters import adapter_for_architecture
from auditors.errors import AuditorInputError, UnsupportedModelError


def load_pretrained(path: str | Path):
    """Load ``(model, processor)`` from a local folder written by ``save_pretrained``."""
    import transformers

    folder = Path(path)
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise AuditorInputError(f"{folder} is not a saved model folder (no config.json)")
    architectures = json.loads(config_file.read_text()).get("architectures") or []
    if not architectures:
        raise UnsupportedModelError(f"{config_file} names no architecture")
    architecture = architectures[0]
    adapter_for_architecture(architecture)  # clear error naming the supported ones
    if not any(folder.glob("*.safetensors")):
        raise AuditorInputError(f"{folder} has no .safetensors weights (other weight formats are refused)")
    model_class = getattr(transformers, architecture)
    model = model_class.from_pretrained(folder, use_safetensors=True, trust_remote_code=False).eval()
    return model, load_processor(folder)


def load_processor(folder: str | Path):
    """The saved processor, through the image-only subclasses where the stock class needs torchvision."""
    import transformers

    from auditors.processors import IMAGE_ONLY_PROCESSORS

    folder = Path(folder)
    name = None
    for candidate in ("processor_config.json", "preprocessor_config.json"):
        file = folder / candidate
        if file.is_file():
            name = json.loads(file.read_text()).get("processor_class") or name
            if name:
                break
    if name in IMAGE_ONLY_PROCESSORS:
        return IMAGE_ONLY_PROCESSORS[name].from_pretrained(folder, trust_remote_code=False)
    if name in ("Qwen2VLProcessor", "Qwen2_5_VLProcessor"):
        return IMAGE_ONLY_PROCESSORS["ImageOnlyQwen2VLProcessor"].from_pretrained(folder, trust_remote_code=False)
    if name == "InternVLProcessor":
        return IMAGE_ONLY_PROCESSORS["ImageOnlyInternVLProcessor"].from_pretrained(folder, trust_remote_code=False)
    return transformers.AutoProcessor.from_pretrained(folder, trust_remote_code=False)
