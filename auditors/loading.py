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

_MAX_HEADER_BYTES = 100 * 1024 * 1024  # the safetensors format's own limit on a header


def load_pretrained(path: str | Path):
    """Load ``(model, processor)`` from a local folder written by ``save_pretrained``."""
    import transformers

    folder = Path(path)
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise AuditorInputError(f"{folder} is not a saved model folder (no config.json)")
    architectures = read_model_config(config_file).get("architectures") or []
    if not architectures:
        raise UnsupportedModelError(f"{config_file} names no architecture")
    architecture = architectures[0]
    adapter_for_architecture(architecture)  # clear error naming the supported ones
    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        raise AuditorInputError(f"{folder} has no .safetensors weights (other weight formats are refused)")
    for file in weights:
        check_safetensors_file(file)
    model_class = getattr(transformers, architecture)
    model = model_class.from_pretrained(folder, use_safetensors=True, trust_remote_code=False).eval()
    return model, load_processor(folder)


def read_model_config(config_file: Path) -> dict:
    """A folder's config.json as a mapping; unreadable JSON is the folder's fault, named as such."""
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AuditorInputError(f"{config_file} is not valid JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise AuditorInputError(f"{config_file} must hold a JSON object, got {type(config).__name__}")
    return config


def check_safetensors_file(path: Path) -> None:
    """Raise `AuditorInputError` unless `path` is a whole safetensors file (header and data).

    Why: a truncated download or a corrupted copy otherwise surfaces deep inside `from_pretrained`
    as a `SafetensorError` about header lengths, which names neither the file nor the cure. The
    format: an 8-byte little-endian header size, a JSON header whose tensors' `data_offsets` end
    exactly at the end of the file. Only the header is read (the weights are hashed elsewhere).
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        prefix = handle.read(8)
        header_size = int.from_bytes(prefix, "little") if len(prefix) == 8 else -1
        if header_size < 2 or 8 + header_size > size or header_size > _MAX_HEADER_BYTES:
            raise AuditorInputError(f"{path} is not a safetensors file or is truncated ({size:,} bytes, "
                                    "header size unreadable): copy or download it again")
        raw = handle.read(header_size)
    try:
        header = json.loads(raw.decode("utf-8"))
        ends = [int(entry["data_offsets"][1]) for key, entry in header.items() if key != "__metadata__"]
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError, KeyError, IndexError, TypeError, ValueError):
        raise AuditorInputError(f"{path} has a corrupt safetensors header: copy or download it again") from None
    expected = 8 + header_size + max(ends, default=0)
    if expected != size:
        raise AuditorInputError(f"{path} is {size:,} bytes but its safetensors header describes {expected:,} "
                                "(truncated or corrupt): copy or download it again")


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
