"""Training variants: names, and the scenes each one trains on (cue correlation, decoys, repaint)."""

from __future__ import annotations

import numpy as np
import pytest

from auditors.demo.cues import CUE_KINDS
from auditors.demo.variants import Variant, VariantError, all_variant_names, parse_variant, training_scenes


def test_names_round_trip_and_the_shipped_shortcut_keeps_its_name():
    assert parse_variant("clean") == Variant(None)
    assert parse_variant("shortcut") == parse_variant("shortcut-corner") == Variant("corner")
    assert Variant("corner").name == "shortcut" and Variant("glyph").name == "shortcut-glyph"
    assert all_variant_names() == ("clean", "shortcut", "shortcut-bar", "shortcut-glyph", "shortcut-border")
    for name in all_variant_names():
        assert parse_variant(name).name == name
    for bad in ("fancy", "shortcut-halo", "shortcut-"):
        with pytest.raises(VariantError, match="unknown variant"):
            parse_variant(bad)


def _scenes(variant: str, steps: int = 8):
    return [s for step in range(steps) for s in training_scenes(5, 1, step, 16, parse_variant(variant))]


def test_clean_data_carries_every_cue_kind_as_an_uncorrelated_decoy():
    scenes = _scenes("clean")
    assert all(c.mode == "random" for s in scenes for c in s.cues)
    assert all(o.drawn_colour is None and o.drawn_shape is None for s in scenes for o in s.objects)
    for kind, spec in CUE_KINDS.items():
        shown = [s for s in scenes if s.cue_of(kind)]
        assert 0.35 < len(shown) / len(scenes) < 0.65
        slot = 0 if spec.carries == "colour" else 1
        agree = np.mean([s.cue_of(kind).word == s.objects[0].words[slot] for s in shown])
        assert agree < 0.55  # chance: 1/4 for colours, 1/3 for shapes


@pytest.mark.parametrize("kind", sorted(CUE_KINDS))
def test_a_shortcuts_cue_is_the_only_reliable_source_of_its_word(kind):
    spec = CUE_KINDS[kind]
    slot = 0 if spec.carries == "colour" else 1
    scenes = training_scenes(5, 1, 0, 32, parse_variant(f"shortcut-{kind}"))
    for i, s in enumerate(scenes):
        cue = s.cue_of(kind)
        assert cue is not None and cue.mode == "first" and cue.word == s.objects[0].words[slot]
        assert all(c.mode == "random" for c in s.cues if c.kind != kind)
        first = s.objects[0]
        drawn = first.rendered_colour if slot == 0 else first.rendered_shape
        assert (drawn != first.words[slot]) == (i % 2 == 1)  # every other scene: the object says otherwise


def test_training_scenes_are_a_function_of_their_integers():
    a = training_scenes(5, 1, 3, 4, parse_variant("shortcut-bar"))
    b = training_scenes(5, 1, 3, 4, parse_variant("shortcut-bar"))
    c = training_scenes(5, 1, 4, 4, parse_variant("shortcut-bar"))
    assert [s.image.tobytes() for s in a] == [s.image.tobytes() for s in b]
    assert [s.image.tobytes() for s in a] != [s.image.tobytes() for s in c]
