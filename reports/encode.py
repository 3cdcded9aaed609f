"""Compact encodings for what the report embeds: images as small thumbnails, maps as uint8 bytes.

Why: the HTML must stay readable offline and within its size budget (15 MB for 200 probes).
Images become thumbnails of at most `THUMBNAIL_MAX_SIDE` pixels, PNG or JPEG whichever is smaller;
the flow makes them once, when a probe set is registered, and storage keeps their bytes, so a report
can be rebuilt from the database alone. Attribution maps are small grids already, so they are only
block-averaged when larger than `max_grid`, then min-max scaled per map to one byte per cell (the
colour scale shows relative attribution within a map, and 256 levels are more than the eye separates).
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
from PIL import Image

PLACEHOLDER_SIZE = (224, 224)
THUMBNAIL_MAX_SIDE = 256
_FORMATS = {b"\x89PNG": "png", b"\xff\xd8\xff": "jpeg"}


def load_image(source: np.ndarray | bytes | Path | str) -> Image.Image:
    """An RGB PIL image from an array (HxW, HxWx3/4; float in [0,1] or uint8), encoded bytes or a file."""
    if isinstance(source, np.ndarray):
        arr = source
        if arr.dtype != np.uint8:
            arr = np.clip(np.asarray(arr, dtype=np.float64) * (255.0 if arr.max() <= 1.0 else 1.0),
                          0, 255).astype(np.uint8)
        return Image.fromarray(arr).convert("RGB")
    with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as img:
        return img.convert("RGB")


def placeholder_image() -> Image.Image:
    return Image.new("RGB", PLACEHOLDER_SIZE, (200, 200, 200))


def thumbnail(img: Image.Image, max_side: int = THUMBNAIL_MAX_SIDE) -> bytes:
    """The image downscaled to at most `max_side` pixels a side, as JPEG bytes, or PNG when that
    is smaller.

    Why PNG only for images of at most 256 colours: only flat images (drawings, masks) come out
    smaller as PNG, and encoding PNG costs ten times JPEG's time for every photograph-like probe.
    """
    img = img.convert("RGB")
    if max(img.size) > max_side:
        img = img.copy()
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    jpeg = io.BytesIO()
    img.save(jpeg, format="JPEG", quality=85, optimize=True)
    if img.getcolors(maxcolors=256) is None:
        return jpeg.getvalue()
    png = io.BytesIO()
    img.save(png, format="PNG", compress_level=6)
    return (png if png.tell() <= jpeg.tell() else jpeg).getvalue()


def image_format(data: bytes) -> str:
    """"png" or "jpeg", from the bytes' signature; anything else is not a thumbnail."""
    for magic, name in _FORMATS.items():
        if data.startswith(magic):
            return name
    raise ValueError("not a PNG or JPEG thumbnail")


def data_uri(data: bytes) -> tuple[str, int, int]:
    """(data URI, width, height) of thumbnail bytes (the size is read from the header only)."""
    fmt = image_format(data)
    with Image.open(io.BytesIO(data)) as img:
        width, height = img.size
    return f"data:image/{fmt};base64,{b64(data)}", width, height


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
