"""Write one `Explanation` to a folder: the data (npz + json) and a PNG overlay per token and method.

Why: `mllm-audit explain` is the quick look without registry or database; its files must be
readable without this package (numpy's npz, plain JSON, PNG images).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

DATA_FILE = "explanation.npz"
META_FILE = "explanation.json"


@dataclass(frozen=True)
class WrittenExplanation:
    data_file: Path
    meta_file: Path
    pngs: tuple[Path, ...]


def _heat_colours(values: np.ndarray) -> np.ndarray:
    """A blue-to-red ramp (values in [0, 1]) as uint8 RGB, no plotting library needed."""
    v = np.clip(values, 0.0, 1.0)[..., None]
    stops = np.array([[0, 0, 128], [0, 128, 255], [0, 220, 120], [255, 220, 0], [220, 0, 0]], dtype=np.float32)
    position = v * (len(stops) - 1)
    low = np.floor(position).astype(int).clip(0, len(stops) - 2)
    frac = position - low
    colours = stops[low[..., 0]] * (1 - frac) + stops[low[..., 0] + 1] * frac
    return colours.astype(np.uint8)


def overlay(image: Image.Image, grid_map: np.ndarray, content_box: tuple[int, int, int, int] | None, alpha: float = 0.5) -> Image.Image:
    """The map (cropped to the image's part of the grid) stretched over the image and blended."""
    values = np.asarray(grid_map, dtype=np.float32)
    if content_box:
        x0, y0, x1, y1 = content_box
        values = values[y0:y1, x0:x1]
    peak = float(values.max()) if values.size else 0.0
    normalised = values / peak if peak > 0 else np.zeros_like(values)
    heat = Image.fromarray(_heat_colours(normalised)).resize(image.size, Image.Resampling.BILINEAR)
    return Image.blend(image.convert("RGB"), heat, alpha)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_\-]+", "_", text).strip("_")[:24] or "tok"


def write_explanation(explanation: Any, image: str | Path | Image.Image, out_dir: str | Path) -> WrittenExplanation:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    picture = image if isinstance(image, Image.Image) else Image.open(image).convert("RGB")
    data_file = out / DATA_FILE
    np.savez_compressed(data_file, **{f"map_{method}": np.asarray(maps, np.float32) for method, maps in explanation.maps.items()})
    meta = {
        "prompt": explanation.prompt,
        "answer": explanation.answer,
        "tokens": list(explanation.tokens),
        "token_ids": [int(t) for t in explanation.token_ids],
        "word_index": [int(w) for w in explanation.word_index],
        "words": list(explanation.words),
        "grid_shape": list(explanation.grid_shape),
        "image_size": list(explanation.image_size),
        "content_box": list(explanation.content_box) if explanation.content_box else None,
        "architecture": explanation.architecture,
        "methods": list(explanation.maps),
        "settings": explanation.settings,
        "timings": explanation.timings,
    }
    meta_file = out / META_FILE
    meta_file.write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    pngs = []
    for method, maps in explanation.maps.items():
        for index, grid_map in enumerate(np.asarray(maps)):
            token = explanation.tokens[index] if index < len(explanation.tokens) else str(index)
            path = out / f"{method}_{index:03d}_{_safe(token)}.png"
            overlay(picture, grid_map, explanation.content_box).save(path)
            pngs.append(path)
    return WrittenExplanation(data_file, meta_file, tuple(pngs))
