"""The embedded default model of mllm-audit: a tiny Qwen2.5-VL trained here on synthetic scenes.

Two shipped versions (``weights/clean``, ``weights/shortcut``; see MODEL_CARD.md), the scene generator and
its family of cues (``cues.py``), the probe sets, the training recipe and the model zoo (``zoo.py``: clean
and shortcut models over many seeds, cached outside the repository). Facts other packages need:

* images are ``IMAGE_SIZE`` (112) px square, giving a ``GRID`` x ``GRID`` (4x4) map of merged vision tokens;
* the default prompt is ``DEFAULT_PROMPT`` ("describe the image"); the chat template saved with the
  processor builds the training format: ``processor.apply_chat_template(chat_messages(prompt),
  add_generation_prompt=True, tokenize=False)`` equals ``format_prompt(prompt)``;
* load with ``auditors.processors.ImageOnlyQwen2VLProcessor.from_pretrained(path)`` and
  ``transformers.Qwen2_5_VLForConditionalGeneration.from_pretrained(path)`` (or ``load_demo``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .model import GRID, IMAGE_SIZE, N_IMAGE_TOKENS
from .cues import CUE_KINDS, CueSpec
from .probeset import DEFAULT_PROBE_SEED, PROBE_MODES, build_default_probe_set
from .scenes import COLOUR_WORDS, SHAPE_WORDS
from .tokenizer import DEFAULT_PROMPT, chat_messages, format_prompt
from .variants import DEMO_VARIANTS

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


class DemoModelMissingError(FileNotFoundError):
    """The shipped weights of a demo variant are not where the package expects them."""


def demo_model_dir(variant: str = "clean") -> Path:
    """Path of the shipped saved HF folder of ``variant`` ("clean" or "shortcut")."""
    if variant not in DEMO_VARIANTS:
        raise ValueError(f"unknown demo variant {variant!r}; choose one of {DEMO_VARIANTS}")
    path = WEIGHTS_DIR / variant
    if not (path / "model.safetensors").is_file():
        raise DemoModelMissingError(f"demo weights missing at {path}; rebuild them with `mllm-audit train-demo --variant {variant}`")
    return path


def load_demo(variant: str = "clean") -> tuple[Any, Any]:
    """(model in eval mode, processor) of a shipped demo variant."""
    from transformers import Qwen2_5_VLForConditionalGeneration

    from ..processors import ImageOnlyQwen2VLProcessor

    path = demo_model_dir(variant)
    model = Qwen2_5_VLForConditionalGeneration.from_pretrained(path).eval()
    return model, ImageOnlyQwen2VLProcessor.from_pretrained(path)


__all__ = [
    "COLOUR_WORDS", "CUE_KINDS", "CueSpec", "PROBE_MODES", "DEFAULT_PROBE_SEED", "DEFAULT_PROMPT", "DEMO_VARIANTS", "DemoModelMissingError", "GRID",
    "IMAGE_SIZE", "N_IMAGE_TOKENS", "SHAPE_WORDS", "WEIGHTS_DIR", "build_default_probe_set", "chat_messages",
    "demo_model_dir", "format_prompt", "load_demo",
]
