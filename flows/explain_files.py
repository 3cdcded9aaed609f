"""Write one `Explanation` to a folder: its file (`Explanation.save`) and a PNG overlay per token and method.

Why: `mllm-audit explain` is the quick look without registry or database. The data is the
library's own explanation format (`explanation.npz` + `explanation.json`, reloadable with
`auditors.Explanation.load`); the PNGs are for eyes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

EXPLANATION_STEM = "explanation"


@dataclass(frozen=True)
class WrittenExplanation:
    data_file: Path
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


def overlay(image: Image.Image, on_image: np.ndarray, alpha: float = 0.5) -> Image.Image:
    """Blend a map already resized onto the image ([height, width]) over it, scaled to its peak."""
    values = np.asarray(on_image, dtype=np.float32)
    peak = float(values.max()) if values.size else 0.0
    heat = Image.fromarray(_heat_colours(values / peak if peak > 0 else np.zeros_like(values)))
    return Image.blend(image.convert("RGB"), heat.resize(image.size), alpha)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_\-]+", "_", text).strip("_")[:24] or "tok"


def prepare_output_dir(out_dir: str | Path) -> Path:
    """Create the output folder and check it takes files, before seconds of model loading are spent.

    Raises `FlowsInputError` naming the folder and the reason (a read-only or missing parent, a
    file in the way), not a bare OSError."""
    from flows.errors import FlowsInputError

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".{EXPLANATION_STEM}-write-check"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise FlowsInputError(f"cannot write the explanation to {out}: {exc.strerror or exc}") from None
    return out


def write_explanation(explanation: Any, image: str | Path | Image.Image, out_dir: str | Path) -> WrittenExplanation:
    """The explanation's file and its PNGs in `out_dir` (checked beforehand with `prepare_output_dir`)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    picture = image if isinstance(image, Image.Image) else Image.open(image).convert("RGB")
    data_file = explanation.save(out / EXPLANATION_STEM)
    pngs = []
    for method in explanation.maps:
        for index in range(explanation.n_tokens):
            token = explanation.tokens[index] if index < len(explanation.tokens) else str(index)
            path = out / f"{method}_{index:03d}_{_safe(token)}.png"
            overlay(picture, explanation.token_map_on_image(method, index, picture.size)).save(path)
            pngs.append(path)
    return WrittenExplanation(Path(data_file), tuple(pngs))
