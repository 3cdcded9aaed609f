"""What every model adapter provides, and the shared machinery they reuse.

An adapter knows, for one model family: how to turn (image, prompt, scale) into model inputs,
where the vision tokens sit in the sequence and on which grid, where the user prompt's tokens sit,
and where the final norm and LM head are. Explainers only talk to this interface, so adding a model
family is one small file plus one registry line (``auditors/adapters/__init__.py``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from auditors.errors import AuditorError, AuditorInputError, UnsupportedModelError


@dataclass
class PreparedInput:
    """Model inputs for one (image, prompt, scale) and where things sit in them."""

    inputs: dict[str, Any]  # tensors with batch size 1, ready for model(**inputs) / generate
    vision_positions: np.ndarray  # sequence indices of the vision tokens, row-major over the grid
    grid_shape: tuple[int, int]  # (rows, cols) of the vision-token grid
    content_box: tuple[int, int, int, int]  # (x0, y0, x1, y1) grid cells covered by the image
    prompt_positions: np.ndarray  # sequence indices of the user prompt's tokens
    scale: float = 1.0
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def input_ids(self) -> np.ndarray:
        return self.inputs["input_ids"][0].detach().cpu().numpy()


class ModelAdapter(ABC):
    """Base class; subclasses set the class attributes and override the family-specific parts."""

    name: ClassVar[str] = ""
    architectures: ClassVar[tuple[str, ...]] = ()
    fixed_canvas: ClassVar[bool] = False
    #: text used when neither processor nor tokenizer has a chat template; ``{image}`` is the
    #: processor's image placeholder and ``{prompt}`` the user's prompt.
    fallback_template: ClassVar[str] = "{image}\n{prompt}"

    # --- model parts ---------------------------------------------------------------------------
    def vision_module(self, model):
        """The vision tower; None when the model has none."""
        inner = getattr(model, "model", None)
        for name in ("visual", "vision_tower"):
            module = getattr(inner, name, None) if inner is not None else None
            if module is not None:
                return module
        return None

    def check_model(self, model) -> None:
        if self.vision_module(model) is None:
            raise UnsupportedModelError(
                f"{type(model).__name__} has no vision tower (expected model.model.visual or model.model.vision_tower):"
                " the explainers need a vision-language model")

    def final_norm(self, model):
        """The final norm of the language model, whose output is what the LM head reads."""
        lm = getattr(getattr(model, "model", None), "language_model", None)
        norm = getattr(lm, "norm", None)
        if norm is None:
            raise UnsupportedModelError(f"cannot find the language model's final norm in {type(model).__name__}")
        return norm

    def lm_head(self, model):
        head = model.get_output_embeddings()
        if head is None:
            raise UnsupportedModelError(f"{type(model).__name__} has no LM head")
        return head

    def image_token_id(self, model) -> int:
        cfg = model.config
        for attr in ("image_token_id", "image_token_index"):
            value = getattr(cfg, attr, None)
            if value is not None:
                return int(value)
        raise UnsupportedModelError(f"{type(model).__name__}'s config names no image token id")

    def suppressed_token_ids(self, model, processor) -> list[int]:
        """Ids generation must never produce (vision placeholders would break a replay)."""
        ids = {self.image_token_id(model)}
        for attr in ("video_token_id", "vision_start_token_id", "vision_end_token_id"):
            value = getattr(model.config, attr, None)
            if value is not None:
                ids.add(int(value))
        for attr in ("start_image_token_id", "end_image_token_id"):
            value = getattr(processor, attr, None)
            if value is not None:
                ids.add(int(value))
        ids.update(_placeholder_ids(processor, ("video_token",)))  # InternVL: only the processor names <video>
        return sorted(ids)

    # --- prompt text -----------------------------------------------------------------------------
    def image_placeholder(self, processor) -> str:
        return getattr(processor, "image_token", None) or "<image>"

    def render_prompt(self, processor, prompt: str) -> str:
        """The full input text: the chat template when there is one, else ``fallback_template``."""
        template = getattr(processor, "chat_template", None) or getattr(
            getattr(processor, "tokenizer", None), "chat_template", None)
        if template:
            messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
            return processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return self.fallback_template.format(image=self.image_placeholder(processor), prompt=prompt)

    def processor_kwargs(self, processor, image_size: tuple[int, int]) -> dict[str, Any]:
        """Extra keyword arguments for ``processor(...)`` (family specific)."""
        return {}

    # --- inputs at a scale -----------------------------------------------------------------------
    @abstractmethod
    def prepare(self, model, processor, image, prompt: str, scale: float = 1.0,
                reference: PreparedInput | None = None) -> PreparedInput:
        """Model inputs for ``image`` at ``scale`` (``reference``: the scale-1 preparation)."""

    def _encode(self, model, processor, image, text: str, extra: dict[str, Any]) -> dict[str, Any]:
        """Processor outputs on the model's device (a CUDA model cannot read CPU tensors)."""
        encoded = dict(processor(images=[image], text=[text], return_tensors="pt", **extra))
        device = getattr(model, "device", None)
        if device is None:
            return encoded
        return {key: value.to(device) if hasattr(value, "to") else value for key, value in encoded.items()}

    def locate_prompt(self, processor, text: str, prompt: str, input_ids: np.ndarray) -> np.ndarray:
        """Sequence positions of the prompt's tokens in the (placeholder-expanded) ``input_ids``.

        The prompt follows the image, so counting from the end of the sequence is the same in
        the unexpanded text and the expanded ids. Offsets of a fast tokenizer give the tokens
        inside the prompt's characters; otherwise the prompt's own token ids are searched for.
        """
        tokenizer = processor.tokenizer
        start = text.rfind(prompt)
        n = len(input_ids)
        if start >= 0:
            try:
                enc = tokenizer(text, return_offsets_mapping=True)
                offsets = enc["offset_mapping"]
                unexpanded = list(enc["input_ids"])
                inside = [i for i, (a, b) in enumerate(offsets) if b > a and a >= start and b <= start + len(prompt)]
                if inside:
                    positions = np.asarray([n - (len(unexpanded) - i) for i in inside], dtype=np.int64)
                    if positions.min() >= 0 and all(int(input_ids[p]) == unexpanded[i]
                                                    for p, i in zip(positions, inside, strict=True)):
                        return positions
            except Exception:  # noqa: BLE001 - slow tokenizers cannot return offsets; search ids below
                pass
        own = list(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        for begin in range(n - len(own), -1, -1):
            if own and list(input_ids[begin: begin + len(own)]) == own:
                return np.arange(begin, begin + len(own), dtype=np.int64)
        raise AuditorError(f"could not find the prompt's tokens in the model input ({type(self).__name__})")

    def vision_positions(self, model, input_ids: np.ndarray, expected: int) -> np.ndarray:
        positions = np.flatnonzero(input_ids == self.image_token_id(model))
        if len(positions) != expected:
            raise AuditorError(f"{self.name}: found {len(positions)} image tokens in the input, expected {expected}")
        return positions

    # --- forwards ---------------------------------------------------------------------------------
    def prompt_hidden_states(self, model, prepared: PreparedInput):
        """Final post-norm hidden states [seq, d] of a forward over the prompt alone."""
        out = model.model(**prepared.inputs, use_cache=False)
        return out.last_hidden_state[0]

    def extend_inputs(self, prepared: PreparedInput, extra_ids) -> dict[str, Any]:
        """Inputs with ``extra_ids`` (answer tokens, for teacher forcing) appended to the text."""
        import torch

        extra = torch.as_tensor(np.asarray(extra_ids, dtype=np.int64)).view(1, -1)
        inputs = dict(prepared.inputs)
        ids = inputs["input_ids"]
        inputs["input_ids"] = torch.cat([ids, extra.to(ids.device)], dim=1)
        if "attention_mask" in inputs:
            mask = inputs["attention_mask"]
            inputs["attention_mask"] = torch.cat([mask, torch.ones_like(extra).to(mask)], dim=1)
        if "mm_token_type_ids" in inputs:
            types = inputs["mm_token_type_ids"]
            inputs["mm_token_type_ids"] = torch.cat([types, torch.zeros_like(extra).to(types)], dim=1)
        return inputs


def scaled_size(width: int, height: int, scale: float, unit: int, what: str) -> tuple[int, int]:
    """(w, h) of the image at ``scale`` snapped to multiples of ``unit`` pixels (one vision token).

    Raises AuditorInputError when a side would be smaller than one vision token.
    """
    w = int(round(width * scale / unit))
    h = int(round(height * scale / unit))
    if w < 1 or h < 1:
        raise AuditorInputError(
            f"scale {scale} makes the {width}x{height} image smaller than one vision token ({unit} px) for {what}; "
            "remove that scale or use a larger image")
    return w * unit, h * unit


def _placeholder_ids(processor, attrs: tuple[str, ...]) -> set[int]:
    """Token ids of placeholder strings a processor names (e.g. ``processor.video_token``), when its
    tokenizer knows them as single tokens (an unknown one maps to the unknown token: not added)."""
    tokenizer = getattr(processor, "tokenizer", None)
    if tokenizer is None:
        return set()
    out = set()
    for attr in attrs:
        token = getattr(processor, attr, None)
        if not isinstance(token, str) or not token:
            continue
        ident = tokenizer.convert_tokens_to_ids(token)
        if isinstance(ident, int) and ident != getattr(tokenizer, "unk_token_id", None):
            out.add(ident)
    return out
