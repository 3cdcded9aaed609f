"""The `Explanation` object: what `auditors.explain` returns (CONTRACT, see below).

Contract with the other layers (flows/ converts this into storage records; do not rename fields
without updating flows/convert.py):

- `tokens`/`token_ids`: the GENERATED answer tokens (EOS included when generated), in order.
  `tokens[i]` is token i's exact share of the decoded answer text, leading space included
  (" circle"), so ``"".join(tokens)`` rebuilds the text with special tokens kept.
- `word_index[i]`: the word number of generated token i (0-based, words of the answer text), or -1
  for tokens that belong to no word (EOS, special tokens).
- `words[k]`: the text of word k (stripped, lower-cased is NOT applied).
- `maps[method]`: float32 array [n_tokens, grid_h, grid_w], non-negative, finite, one map per
  generated token over the ORIGINAL-scale vision-token grid (`grid_shape`).
- `image_size`: (width, height) of the input image in pixels; `content_box`: the (x0, y0, x1, y1)
  part of the vision grid, in grid cells, that covers the image (the whole grid except for
  padded fixed-canvas models).

Helpers (added, not part of the stored contract): per token/word slicing, aggregation over
tokens, upsampling a grid map onto the image, and ``save``/``load`` as a compressed ``.npz``
(maps) plus a ``.json`` sidecar (everything else), so later layers and users can keep it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import numpy as np

from auditors.errors import AuditorInputError

FORMAT_VERSION = 1
_REDUCERS = {"max": np.max, "mean": np.mean, "sum": np.sum}


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

    # --- slicing -------------------------------------------------------------------------------
    @property
    def methods(self) -> list[str]:
        return list(self.maps)

    @property
    def n_tokens(self) -> int:
        return len(self.token_ids)

    def _method_maps(self, method: str) -> np.ndarray:
        try:
            return self.maps[method]
        except KeyError:
            raise AuditorInputError(f"no maps for method {method!r}; this explanation has {self.methods}") from None

    def token_map(self, method: str, token: int) -> np.ndarray:
        """The [h, w] map of generated token ``token`` (negative indices count from the end)."""
        maps = self._method_maps(method)
        if not -len(maps) <= token < len(maps):
            raise AuditorInputError(f"token index {token} out of range for {len(maps)} generated tokens")
        return maps[token]

    def word_tokens(self, word: int | str) -> list[int]:
        """Indices of the generated tokens of word number ``word`` (or of every word with that text)."""
        if isinstance(word, str):
            targets = {k for k, w in enumerate(self.words) if w == word}
            if not targets:
                raise AuditorInputError(f"word {word!r} is not in the answer {self.words}")
        else:
            if not 0 <= word < len(self.words):
                raise AuditorInputError(f"word index {word} out of range for {len(self.words)} words")
            targets = {word}
        return [i for i, k in enumerate(self.word_index) if k in targets]

    def word_map(self, method: str, word: int | str, reduce: Literal["max", "mean", "sum"] = "max") -> np.ndarray:
        """The map of a word: its tokens' maps reduced cell-wise (max by default, as Obj-IoU does)."""
        idx = self.word_tokens(word)
        return _REDUCERS[reduce](self._method_maps(method)[idx], axis=0).astype(np.float32)

    def aggregate(self, method: str, tokens: list[int] | None = None,
                  reduce: Literal["max", "mean", "sum"] = "mean") -> np.ndarray:
        """Cell-wise reduction of the maps of ``tokens`` (default: every generated token)."""
        maps = self._method_maps(method)
        chosen = maps if tokens is None else maps[list(tokens)]
        if len(chosen) == 0:
            return np.zeros(self.grid_shape, dtype=np.float32)
        return _REDUCERS[reduce](chosen, axis=0).astype(np.float32)

    def upsample(self, grid_map: np.ndarray, size: tuple[int, int] | None = None,
                 interpolation: Literal["bilinear", "nearest"] = "bilinear") -> np.ndarray:
        """Resize a grid map onto the image: crop to ``content_box`` then resize to ``size``
        ((width, height), default ``image_size``). Returns [height, width] float32."""
        import cv2

        grid = np.asarray(grid_map, dtype=np.float32)
        if grid.shape != tuple(self.grid_shape):
            raise AuditorInputError(f"map shape {grid.shape} does not match the grid {tuple(self.grid_shape)}")
        x0, y0, x1, y1 = self.content_box or (0, 0, self.grid_shape[1], self.grid_shape[0])
        crop = np.ascontiguousarray(grid[y0:y1, x0:x1])
        width, height = size or self.image_size
        flag = cv2.INTER_LINEAR if interpolation == "bilinear" else cv2.INTER_NEAREST
        return cv2.resize(crop, (int(width), int(height)), interpolation=flag)

    def token_map_on_image(self, method: str, token: int, size: tuple[int, int] | None = None) -> np.ndarray:
        return self.upsample(self.token_map(method, token), size)

    # --- persistence ---------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write ``<path>.npz`` (maps, compressed) and ``<path>.json`` (the rest); returns the .npz path.

        Both are written to temporary names and renamed, so nothing half-written is left behind.
        """
        base = Path(path)
        if base.suffix == ".npz":
            base = base.with_suffix("")
        base.parent.mkdir(parents=True, exist_ok=True)
        npz, meta = base.with_name(base.name + ".npz"), base.with_name(base.name + ".json")
        arrays = {f"map__{name}": np.asarray(m, dtype=np.float32) for name, m in self.maps.items()}
        record = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "maps"}
        record["methods"] = list(self.maps)
        record["format_version"] = FORMAT_VERSION
        tmp_npz = npz.with_name(npz.name + ".tmp.npz")
        tmp_meta = meta.with_name(meta.name + ".tmp")
        np.savez_compressed(tmp_npz, **arrays)
        tmp_meta.write_text(json.dumps(record, indent=1, default=_jsonable))
        tmp_npz.replace(npz)
        tmp_meta.replace(meta)
        return npz

    @classmethod
    def load(cls, path: str | Path) -> "Explanation":
        base = Path(path)
        if base.suffix in (".npz", ".json"):
            base = base.with_suffix("")
        npz, meta = base.with_name(base.name + ".npz"), base.with_name(base.name + ".json")
        if not npz.is_file() or not meta.is_file():
            raise AuditorInputError(f"explanation files not found: need {npz} and {meta}")
        record = json.loads(meta.read_text())
        with np.load(npz) as data:
            maps = {name: data[f"map__{name}"].astype(np.float32) for name in record.pop("methods")}
        record.pop("format_version", None)
        for key in ("grid_shape", "image_size", "content_box"):
            if record.get(key) is not None:
                record[key] = tuple(record[key])
        known = {f.name for f in fields(cls)}
        return cls(maps=maps, **{k: v for k, v in record.items() if k in known})


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (tuple, set)):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} in an explanation's JSON")
