"""Compact encodings for what the report embeds: images as data URIs, maps as uint8 bytes.

Why: the HTML must stay readable offline and within its size budget (15 MB for 200 probes).
Images are downscaled to what the gallery shows and stored once per distinct file; attribution
maps are small grids already, so they are only block-averaged when larger than `max_grid`, then
min-max scaled per map to one byte per cell (the colour scale shows relative attribution within a
map, and 256 levels are more than the eye separates).
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
from PIL import Image

PLACEHOLDER_SIZE = (224, 224)


def load_image(source: np.ndarray | Path | str) -> Image.Image:
    """An RGB PIL image from an array (HxW, HxWx3/4; float in [0,1] or uint8) or a file."""
    if isinstance(source, np.ndarray):
        arr = source
        if arr.dtype != np.uint8:
            arr = np.clip(np.asarray(arr, dtype=np.float64) * (255.0 if arr.max() <= 1.0 else 1.0),
                          0, 255).astype(np.uint8)
        return Image.fromarray(arr).convert("RGB")
    with Image.open(source) as img:
        return img.convert("RGB")


def placeholder_image() -> Image.Image:
    return Image.new("RGB", PLACEHOLDER_SIZE, (200, 200, 200))


def image_data_uri(img: Image.Image, max_side: int = 256) -> tuple[str, int, int]:
    """(data URI, width, height): PNG or JPEG, whichever is smaller after downscaling."""
    img = img.copy()
    if max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    png, jpeg = io.BytesIO(), io.BytesIO()
    img.save(png, format="PNG", compress_level=6)
    img.save(jpeg, format="JPEG", quality=85, optimize=True)
    fmt, buf = ("png", png) if png.tell() <= jpeg.tell() else ("jpeg", jpeg)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f"data:image/{fmt};base64,{data}", img.size[0], img.size[1]


def downsample_grid(grid: np.ndarray, max_grid: int) -> np.ndarray:
    """Block-average a map so neither side exceeds `max_grid` (edges padded by replication)."""
    grid = np.asarray(grid, dtype=np.float64)
    if grid.ndim != 2:
        raise ValueError(f"an attribution map must be 2-D, got shape {grid.shape}")
    fh = -(-grid.shape[0] // max_grid)
    fw = -(-grid.shape[1] // max_grid)
    if fh == 1 and fw == 1:
        return grid
    h, w = -(-grid.shape[0] // fh) * fh, -(-grid.shape[1] // fw) * fw
    padded = np.pad(grid, ((0, h - grid.shape[0]), (0, w - grid.shape[1])), mode="edge")
    return padded.reshape(h // fh, fh, w // fw, fw).mean(axis=(1, 3))


def quantize_map(grid: np.ndarray) -> bytes:
    """Min-max scale to 0..255, one byte per cell, row-major. Non-finite cells become 0."""
    grid = np.nan_to_num(np.asarray(grid, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = float(grid.min()), float(grid.max())
    scaled = np.zeros_like(grid) if hi <= lo else (grid - lo) / (hi - lo)
    return np.round(scaled * 255.0).astype(np.uint8).tobytes()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
