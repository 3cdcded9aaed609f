"""Training batches for the demo model, built by hand (fast) yet identical to what the processor produces.

Why by hand: the processor handles one PIL image at a time through generic code; for thousands of steps on
one CPU core a direct numpy patchify is several times cheaper. ``tests/auditors/demo/test_data.py``
checks that ``pixel_values``, ``input_ids`` and ``image_grid_thw`` equal the processor's output exactly.
Every sequence is the chat-formatted prompt (``tokenizer.format_prompt``) followed by the caption and
``<|im_end|>``; the loss covers the caption and the end token only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .model import GRID, IMAGE_MEAN, IMAGE_SIZE, IMAGE_STD, MERGE_SIZE, PATCH_SIZE, TEMPORAL_PATCH_SIZE
from .scenes import Scene
from .tokenizer import DEFAULT_PROMPT, format_prompt

IGNORE = -100


def patchify(images: Sequence[Any]) -> np.ndarray:
    """PIL images (IMAGE_SIZE square) -> Qwen2-VL ``pixel_values`` rows, in merge-window order."""
    mean = np.asarray(IMAGE_MEAN, dtype=np.float32)[:, None, None]
    std = np.asarray(IMAGE_STD, dtype=np.float32)[:, None, None]
    out = []
    g, m, p, t = IMAGE_SIZE // PATCH_SIZE, MERGE_SIZE, PATCH_SIZE, TEMPORAL_PATCH_SIZE
    for im in images:
        if im.size != (IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"demo images must be {IMAGE_SIZE}x{IMAGE_SIZE}, got {im.size}")
        x = np.asarray(im.convert("RGB"), dtype=np.float32).transpose(2, 0, 1) * np.float32(1 / 255)
        x = (x - mean) / std
        frames = np.broadcast_to(x[None], (t, 3, IMAGE_SIZE, IMAGE_SIZE))
        patches = frames.reshape(1, t, 3, g // m, m, p, g // m, m, p).transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)
        out.append(patches.reshape(g * g, 3 * t * p * p))
    return np.ascontiguousarray(np.concatenate(out, axis=0))


@dataclass
class BatchBuilder:
    """Turns scenes into model inputs. Holds the token ids so each batch costs only numpy work."""

    tokenizer: Any
    prompt: str = DEFAULT_PROMPT

    def __post_init__(self) -> None:
        tok = self.tokenizer
        self.image_token_id = tok.convert_tokens_to_ids("<|image_pad|>")
        self.pad_id = tok.pad_token_id
        self.eos_id = tok.eos_token_id
        text = format_prompt(self.prompt).replace("<|image_pad|>", "<|image_pad|>" * (GRID * GRID))
        self.prompt_ids = tok(text, add_special_tokens=False)["input_ids"]
        self._word_ids: dict[str, list[int]] = {}

    def caption_ids(self, caption: str) -> list[int]:
        if caption not in self._word_ids:
            self._word_ids[caption] = self.tokenizer(caption, add_special_tokens=False)["input_ids"]
        return self._word_ids[caption]

    def text_batch(self, captions: Sequence[str]) -> dict[str, Any]:
        """input_ids / labels / attention_mask / mm_token_type_ids / image_grid_thw for the captions."""
        import torch

        seqs = [self.prompt_ids + self.caption_ids(c) + [self.eos_id] for c in captions]
        n = len(self.prompt_ids)
        width = max(len(s) for s in seqs)
        ids = np.full((len(seqs), width), self.pad_id, dtype=np.int64)
        labels = np.full((len(seqs), width), IGNORE, dtype=np.int64)
        mask = np.zeros((len(seqs), width), dtype=np.int64)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = s
            labels[i, n : len(s)] = s[n:]
            mask[i, : len(s)] = 1
        ids_t = torch.from_numpy(ids)
        g = IMAGE_SIZE // PATCH_SIZE
        return {
            "input_ids": ids_t,
            "labels": torch.from_numpy(labels),
            "attention_mask": torch.from_numpy(mask),
            "mm_token_type_ids": (ids_t == self.image_token_id).long(),
            "image_grid_thw": torch.tensor([[1, g, g]] * len(seqs), dtype=torch.long),
        }

    def prompt_batch(self, n: int) -> dict[str, Any]:
        """Prompt-only inputs (no caption) for generation and map extraction; all the same length."""
        import torch

        ids = torch.tensor([self.prompt_ids] * n, dtype=torch.long)
        g = IMAGE_SIZE // PATCH_SIZE
        return {
            "input_ids": ids,
            "attention_mask": torch.ones_like(ids),
            "mm_token_type_ids": (ids == self.image_token_id).long(),
            "image_grid_thw": torch.tensor([[1, g, g]] * n, dtype=torch.long),
        }

    def image_batch(self, scenes: Sequence[Scene], with_captions: bool = True) -> dict[str, Any]:
        import torch

        batch = self.text_batch([s.caption for s in scenes]) if with_captions else self.prompt_batch(len(scenes))
        batch["pixel_values"] = torch.from_numpy(patchify([s.image for s in scenes]))
        return batch

    def word_ids(self, words: Sequence[str]) -> dict[str, int]:
        """Vocabulary id of each (single-token) word."""
        return {w: self.caption_ids(w)[0] for w in words}
