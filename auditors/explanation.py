"""The `Explanation` object: what `auditors.explain` returns (CONTRACT, see below).

Contract with the other layers (flows/ converts this into storage records; do not rename fields
without updating flows/convert.py):

- `tokens`/`token_ids`: the GENERATED answer tokens (EOS included when generated), in order.
- `word_index[i]`: the word number of generated token i (0-based, words of the answer text), or -1
  for tokens that belong to no word (EOS, special tokens).
- `words[k]`: the text of word k (stripped, lower-cased is NOT applied).
- `maps[method]`: float32 array [n_tokens, grid_h, grid_w], non-negative, finite, one map per
  generated token over the ORIGINAL-scale vision-token grid (`grid_shape`).
- `image_size`: (width, height) of the input image in pixels; `content_box`: the (x0, y0, x1, y1)
  part of the vision grid, in grid cells, that covers the image (the whole grid except for
  padded fixed-canvas models).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Explanation:
    prompt: str
    answer: str
    token_ids: list[int]
    tokens: list[str]
    word_index: list[int]
    words: list[str]
    grid_shape: tuple[int, int]
    image_size: tuple[int, int]
    maps: dict[str, np.ndarray]
    settings: dict[str, Any] = field(default_factory=dict)
    architecture: str = ""
    prompt_token_ids: list[int] = field(default_factory=list)
    prompt_tokens: list[str] = field(default_factory=list)
    content_box: tuple[int, int, int, int] | None = None
    timings: dict[str, float] = field(default_factory=dict)
