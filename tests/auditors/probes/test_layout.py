"""Word classes in the manifest and the probe-set layout the comparison reads (footprints, cues)."""

from __future__ import annotations

import numpy as np
import pytest

from auditors.probes import ProbeDraft, ProbeSetError, load_probe_set, write_probe_set
from auditors.probes.layout import probe_set_layout
from tests.auditors.probes.helpers import square_probe, write_small_set


def test_declared_word_classes_and_object_order_are_read_back(tmp_path):
    probe_set = write_small_set(tmp_path / "s", word_classes={"colour": ["Red"], "shape": ["square"]},
                                ordered_objects=True)
    assert probe_set.word_classes == {"red": "colour", "square": "shape"}
    assert probe_set.ordered_objects is True
    assert probe_set.word_class_map() == {"red": "colour", "square": "shape"}


def test_without_declared_classes_the_position_in_each_object_decides(tmp_path):
    assert write_small_set(tmp_path / "s").word_class_map() == {"red": "object-word-1", "square": "object-word-2"}


@pytest.mark.parametrize(("manifest_extra", "fragment"), [
    ("word_classes: [red]\n", "must map class names to lists of words"),
    ("word_classes: {colour: [red], paint: [red]}\n", "is in two word classes"),
    ("ordered_objects: maybe\n", "'ordered_objects' must be true or false"),
])
def test_bad_word_classes_are_named(tmp_path, manifest_extra, fragment):
    folder = write_small_set(tmp_path / "s").root
    manifest = folder / "probeset.yaml"
    manifest.write_text(manifest.read_text() + manifest_extra)
    with pytest.raises(ProbeSetError, match=fragment):
        load_probe_set(folder)


def test_the_layout_keeps_footprints_words_captions_and_cues(tmp_path):
    probe = square_probe("p0", size=(40, 40), box=(0, 0, 10, 10))  # top-left quarter of a 4x4 grid's cell
    cued = ProbeDraft(id="p1", image=np.full((40, 40, 3), 200, np.uint8), objects=list(probe.objects),
                      caption="a red square",
                      metadata={"cue": {"kind": "corner", "mode": "conflicting", "word": "Blue", "carries": "colour",
                                        "cells": [[0, 3]], "grid": [4, 4]}})
    write_probe_set(tmp_path / "s", [probe, cued], name="s", version="1", default_prompt="Describe.",
                    word_classes={"colour": ["red", "blue"]})
    layout = probe_set_layout(load_probe_set(tmp_path / "s"))
    assert layout.word_classes == {"red": "colour", "blue": "colour"}
    first = layout.get("p0")
    assert first.objects[0].words == ("red", "square") and first.caption == "a red square" and first.cue is None
    assert layout.held_cells("p0", (4, 4)).nonzero() == (np.array([0]), np.array([0]))
    cue = layout.get("p1").cue
    assert (cue.kind, cue.mode, cue.word, cue.carries) == ("corner", "conflicting", "blue", "colour")
    assert cue.cells((4, 4)).nonzero() == (np.array([0]), np.array([3]))


def test_a_cue_given_by_its_pixel_box_and_an_undrawn_cue(tmp_path):
    boxed = square_probe("p0", size=(40, 40))
    boxed.metadata["cue"] = {"colour": "red", "box": [30, 0, 40, 10]}  # the first demo sets' form
    absent = square_probe("p1", size=(40, 40))
    absent.metadata["cue"] = {"kind": "bar", "mode": "absent", "drawn": False, "word": None, "carries": "colour"}
    write_probe_set(tmp_path / "s", [boxed, absent], name="s", version="1", default_prompt="Describe.")
    layout = probe_set_layout(load_probe_set(tmp_path / "s"))
    present = layout.get("p0").cue
    assert (present.mode, present.word) == ("present", "red") and present.cells((4, 4))[0, 3]
    undrawn = layout.get("p1").cue
    assert undrawn.word is None and undrawn.footprint is None and undrawn.mode == "absent"
