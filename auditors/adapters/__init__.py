"""Registry of model adapters, keyed by the architecture name in ``config.architectures``."""

from __future__ import annotations

from auditors.adapters.base import ModelAdapter, PreparedInput
from auditors.adapters.internvl import InternVLAdapter
from auditors.adapters.llava import LlavaAdapter
from auditors.adapters.qwen2_5_vl import Qwen2_5_VLAdapter
from auditors.adapters.qwen2_vl import Qwen2VLAdapter
from auditors.errors import UnsupportedModelError

ADAPTERS: dict[str, ModelAdapter] = {}


def register_adapter(adapter: ModelAdapter) -> ModelAdapter:
    for arch in adapter.architectures:
        ADAPTERS[arch] = adapter
    return adapter


for _adapter in (Qwen2VLAdapter(), Qwen2_5_VLAdapter(), LlavaAdapter(), InternVLAdapter()):
    register_adapter(_adapter)


def supported_architectures() -> list[str]:
    return sorted(ADAPTERS)


def adapter_for_architecture(architecture: str) -> ModelAdapter:
    try:
        return ADAPTERS[architecture]
    except KeyError:
        raise UnsupportedModelError(
            f"unsupported model architecture {architecture!r}; supported: {', '.join(supported_architectures())}"
        ) from None


def adapter_for(model) -> ModelAdapter:
    """The adapter of a loaded model (by its class name, then ``config.architectures``), checked."""
    names = [type(model).__name__] + list(getattr(model.config, "architectures", None) or [])
    for name in names:
        if name in ADAPTERS:
            adapter = ADAPTERS[name]
            adapter.check_model(model)
            return adapter
    raise UnsupportedModelError(
        f"unsupported model architecture {names[0]!r}; supported: {', '.join(supported_architectures())}")


__all__ = ["ADAPTERS", "ModelAdapter", "PreparedInput", "adapter_for", "adapter_for_architecture",
           "register_adapter", "supported_architectures"]
