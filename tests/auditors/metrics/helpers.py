"""Hand-built explanations and probes with known geometry, so metric values can be predicted."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from auditors.explanation import Explanation
from auditors.probes import ObjectDraft, ProbeDraft, write_probe_set

SIZE = 112  # 4x4 grid of 28-px cells
GRID = (4, 4)


def box_mask(cells: list[tuple[int, int]], size: int = SIZE, grid=GRID) -> np.ndarray:
    mask = np.zeros((size, size), bool)
    step = size // grid[0]
    for row, col in cells:
        mask[row * step : (row + 1) * step, col * step : (col + 1) * step] = True
    return mask


LEFT_CELLS = [(1, 0), (2, 0)]  # red square: column 0, rows 1-2
RIGHT_CELLS = [(1, 3), (2, 3)]  # blue circle: column 3, rows 1-2


def two_object_probe_set(dest: Path, objects=None):
    image = np.full((SIZE, SIZE, 3), 200, np.uint8)
    image[box_mask(LEFT_CELLS)] = (220, 30, 30)
    image[box_mask(RIGHT_CELLS)] = (30, 30, 220)
    if objects is None:
        objects = [ObjectDraft(["red", "square"], box_mask(LEFT_CELLS)), ObjectDraft(["blue", "circle"], box_mask(RIGHT_CELLS))]
    probe = ProbeDraft(id="p0", image=image, objects=objects, caption="a red square and a blue circle")
    return write_probe_set(dest, [probe], name="geom", version="1", default_prompt="Describe the image.")


def cell_map(cells, value=1.0, background=0.0, grid=GRID) -> np.ndarray:
    m = np.full(grid, background, np.float32)
    for row, col in cells:
        m[row, col] = value
    return m


def explanation(words: list[str], word_maps: dict[str, np.ndarray], default=None, grid=GRID, content_box=None,
                method="m", size=(SIZE, SIZE)) -> Explanation:
    """One token per word plus an EOS token (word -1); maps looked up by word text."""
    if default is None:
        default = np.full(grid, 0.01, np.float32)
    maps = [word_maps.get(w, default) for w in words] + [default]
    return Explanation(
        prompt="Describe the image.",
        answer=" ".join(words),
        token_ids=list(range(len(words) + 1)),
        tokens=words + ["<|im_end|>"],
        word_index=list(range(len(words))) + [-1],
        words=list(words),
        grid_shape=tuple(grid),
        image_size=size,
        maps={method: np.stack(maps).astype(np.float32)},
        content_box=content_box,
    )
