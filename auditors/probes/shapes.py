"""Rasterise hand-made masks described as simple shapes (polygons, ellipses, thick lines).

Why shapes in JSON rather than mask PNGs: a reviewer can read and adjust them, they are tiny in the
repository, and rasterising them with PIL is deterministic. Shapes apply in order; a shape with
`"subtract": true` clears its pixels (e.g. a person minus the helmet held in front of them).

Shape forms (pixel coordinates, x to the right, y down):
  {"polygon": [[x, y], ...]}            filled polygon, at least 3 points
  {"ellipse": [cx, cy, rx, ry]}         filled axis-aligned ellipse
  {"line": [[x, y], ...], "width": w}   polyline of the given width (thin parts like tripod legs)
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from PIL import Image, ImageDraw

from auditors.errors import AuditorInputError


class ShapeError(AuditorInputError):
    """A shape description that cannot be drawn (the message names the shape)."""


def rasterise(shapes: Sequence[dict[str, Any]], size: tuple[int, int], where: str = "shapes") -> np.ndarray:
    """Bool mask of `size` = (width, height) from `shapes` (see module docstring)."""
    if not shapes:
        raise ShapeError(f"{where}: no shapes")
    mask = np.zeros((size[1], size[0]), bool)
    for index, shape in enumerate(shapes):
        layer = Image.new("L", size, 0)
        draw = ImageDraw.Draw(layer)
        label = f"{where}[{index}]"
        if "polygon" in shape:
            points = [tuple(map(float, p)) for p in shape["polygon"]]
            if len(points) < 3:
                raise ShapeError(f"{label}: a polygon needs at least 3 points")
            draw.polygon(points, fill=255)
        elif "ellipse" in shape:
            cx, cy, rx, ry = map(float, shape["ellipse"])
            if rx <= 0 or ry <= 0:
                raise ShapeError(f"{label}: ellipse radii must be positive")
            draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=255)
        elif "line" in shape:
            points = [tuple(map(float, p)) for p in shape["line"]]
            width = int(shape.get("width", 0))
            if len(points) < 2 or width < 1:
                raise ShapeError(f"{label}: a line needs 2+ points and a width >= 1")
            draw.line(points, fill=255, width=width, joint="curve")
        else:
            raise ShapeError(f"{label}: unknown shape {sorted(shape)} (polygon, ellipse or line)")
        pixels = np.asarray(layer) > 0
        if shape.get("subtract", False):
            mask &= ~pixels
        else:
            mask |= pixels
    return mask
