"""A probe set's layout for the comparison room: each probe's objects as footprints, word classes,
reference answers and counterfactual cues (`comparison.layout`).

Why here: this is the one place that reads mask files for a comparison; the comparison room never
reads files and knows nothing of `auditors.probes`. Masks are area-averaged onto a footprint of at
most `comparison.layout.FOOTPRINT_SIDE` pixels a side, which keeps a 200-probe layout at a few MB.

Counterfactual cues come from each probe's `cue` metadata (the demo writes it,
`auditors.demo.probeset`): `mode` (present, absent, conflicting), `word` (the word it carries, or
null when not drawn), `carries` (that word's class), and where it lies: `cells` on a `grid` of
`[rows, cols]` cells (or `cell` for one), else a pixel `box` [x0, y0, x1, y1). A cue without a
`mode` is an always-present cue (the first demo probe sets wrote `{"colour", "box", "cell"}`).
"""

from __future__ import annotations

from typing import Any, Mapping

import cv2
import numpy as np
from PIL import Image

from auditors.probes.model import Probe, ProbeSet
from comparison.layout import FOOTPRINT_SIDE, CueLayout, ObjectLayout, ProbeLayout, ProbeSetLayout
from comparison.words import normalize_word


def footprint(mask: np.ndarray) -> np.ndarray:
    """The mask's coverage, area-averaged to at most `FOOTPRINT_SIDE` pixels a side (aspect kept)."""
    mask = np.asarray(mask, dtype=np.float32)
    height, width = mask.shape
    scale = min(1.0, FOOTPRINT_SIDE / max(height, width))
    if scale >= 1.0:
        return mask
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(mask, size, interpolation=cv2.INTER_AREA)


def _image_size(probe: Probe) -> tuple[int, int]:
    """(height, width) of the probe image, read from its header."""
    with Image.open(probe.image_file) as image:
        return image.height, image.width


def _cue_footprint(raw: Mapping[str, Any], image_hw: tuple[int, int]) -> np.ndarray | None:
    cells = raw.get("cells") or ([raw["cell"]] if raw.get("cell") is not None else None)
    grid = raw.get("grid")
    if cells and isinstance(grid, (list, tuple)) and len(grid) == 2:
        mask = np.zeros((int(grid[0]), int(grid[1])), dtype=np.float32)
        for row, col in cells:
            mask[int(row), int(col)] = 1.0
        side = FOOTPRINT_SIDE
        return cv2.resize(mask, (side, side), interpolation=cv2.INTER_NEAREST)
    box = raw.get("box")
    if box is None or len(box) != 4:
        return None
    mask = np.zeros(image_hw, dtype=np.float32)
    x0, y0, x1, y1 = (int(v) for v in box)
    mask[max(0, y0):y1, max(0, x0):x1] = 1.0
    return footprint(mask)


def cue_layout(metadata: Mapping[str, Any], image_hw: tuple[int, int]) -> CueLayout | None:
    """The probe's cue from its metadata (None: the probe has no cue metadata). Without `carries`
    the comparison takes the class of the cue's word (`comparison.counterfactual.cue_class`)."""
    raw = metadata.get("cue")
    if not isinstance(raw, Mapping):
        return None
    word = raw.get("word", raw.get("colour"))
    word = normalize_word(str(word)) if word else None
    mode = str(raw.get("mode", "present"))
    drawn = raw.get("drawn", word is not None)
    carries = raw.get("carries")
    return CueLayout(kind=str(raw.get("kind", "cue")), mode=mode, word=word if drawn else None,
                     carries=str(carries) if carries else None,
                     footprint=_cue_footprint(raw, image_hw) if drawn else None)


def probe_layout(probe: Probe) -> ProbeLayout:
    masks = [probe.load_mask(i) for i in range(len(probe.objects))]
    objects = tuple(ObjectLayout(tuple(normalize_word(w) for w in obj.words), footprint(mask))
                    for obj, mask in zip(probe.objects, masks))
    image_hw = masks[0].shape if masks else _image_size(probe)
    cue = cue_layout(probe.metadata, image_hw)
    return ProbeLayout(probe.id, objects, probe.caption, cue)


def probe_set_layout(probe_set: ProbeSet) -> ProbeSetLayout:
    """Every probe's layout (masks read once), the word classes (`ProbeSet.word_class_map`) and the
    object order flag."""
    classes = probe_set.word_class_map()
    probes = {probe.id: probe_layout(probe) for probe in probe_set.probes}
    return ProbeSetLayout(probes, classes, probe_set.ordered_objects)
