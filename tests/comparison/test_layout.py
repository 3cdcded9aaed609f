"""Which cells of a map hold an object: footprints on any grid, cues, the per-probe cache."""

from __future__ import annotations

import numpy as np

from comparison.layout import FOOTPRINT_SIDE, CueLayout, ObjectLayout, ProbeLayout, ProbeSetLayout, area_resize


def _footprint(rows: slice, cols: slice) -> np.ndarray:
    footprint = np.zeros((FOOTPRINT_SIDE, FOOTPRINT_SIDE), np.float32)
    footprint[rows, cols] = 1.0
    return footprint


def test_held_cells_follow_the_footprint_on_every_grid():
    top_right = ObjectLayout(("red", "circle"), _footprint(slice(0, 16), slice(48, 64)))
    layout = ProbeSetLayout({"p": ProbeLayout("p", (top_right,))}, {"red": "colour"})
    assert layout.held_cells("p", (4, 4)).nonzero() == (np.array([0]), np.array([3]))
    # on a 6x6 grid the object's quarter reaches into the second row and the fifth column
    assert layout.held_cells("p", (6, 6))[:2, 4:].all() and layout.held_cells("p", (6, 6)).sum() == 4
    assert layout.held_cells("missing", (4, 4)) is None
    assert layout.class_of("red") == "colour" and layout.class_of("blue") is None
    assert layout.class_of("circle") == "object word"  # an object word of no declared class


def test_a_cell_an_object_only_touches_still_holds_it():
    corner_pixel = ObjectLayout(("dot",), _footprint(slice(15, 16), slice(15, 16)))
    assert ProbeLayout("p", (corner_pixel,)).held_cells((4, 4))[0, 0]


def test_cue_cells_and_an_undrawn_cue():
    cue = CueLayout("corner", "present", "red", "colour", _footprint(slice(0, 16), slice(48, 64)))
    assert cue.cells((4, 4))[0, 3] and cue.cells((4, 4)).sum() == 1
    assert not CueLayout("corner", "absent", None, "colour").cells((4, 4)).any()


def test_area_resize_keeps_the_covered_share():
    assert area_resize(_footprint(slice(0, 32), slice(0, 64)), (2, 1)).ravel().tolist() == [1.0, 0.0]
