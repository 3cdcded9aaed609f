"""The cue family: each kind draws in its place, in its form, carrying the word its mode says."""

from __future__ import annotations

import numpy as np
import pytest

from auditors.demo.cues import (
    COLOURS,
    CUE_KINDS,
    GLYPH_RGB,
    SHAPE_WORDS,
    CueError,
    CueRequest,
    cue_spec,
    shape_mask,
)
from auditors.demo.scenes import SceneConfig, held_out_scenes, make_scene, rng_for


def test_the_family_has_the_four_promised_kinds():
    forms = {k: (s.form, s.carries, s.cell) for k, s in CUE_KINDS.items()}
    assert forms == {"corner": ("plus", "colour", (0, 3)), "bar": ("bar", "colour", (3, 0)),
                     "glyph": ("glyph", "shape", (3, 3)), "border": ("border", "colour", None)}
    assert len(cue_spec("border").cells(4)) == 12  # every edge cell


@pytest.mark.parametrize("kind", sorted(CUE_KINDS))
def test_first_mode_carries_the_first_objects_word_inside_its_cells(kind):
    spec = cue_spec(kind)
    cfg = SceneConfig()
    for s in held_out_scenes(60, seed=21, cues=[CueRequest(kind, "first")]):
        (cue,) = s.cues
        first = s.objects[0]
        assert cue.word == (first.colour if spec.carries == "colour" else first.shape)
        assert cue.cells == spec.cells(cfg.grid)
        x0, y0, x1, y1 = cue.box
        if spec.cell is not None:
            cx0, cy0, cx1, cy1 = cfg.cell_box(spec.cell)
            assert cx0 <= x0 < x1 <= cx1 and cy0 <= y0 < y1 <= cy1


@pytest.mark.parametrize("kind", ["corner", "bar", "border"])
def test_colour_cues_are_painted_in_their_words_colour(kind):
    for s in held_out_scenes(30, seed=4, cues=[CueRequest(kind, "random")]):
        (cue,) = s.cues
        pixels = np.asarray(s.image).astype(int)
        if kind == "border":
            covered = np.zeros(pixels.shape[:2], bool)
            for o in s.objects:
                covered |= o.mask
            frame = np.zeros_like(covered)
            frame[:2], frame[-2:], frame[:, :2], frame[:, -2:] = True, True, True, True
            sample = pixels[frame & ~covered]  # objects are drawn over the frame
        else:
            x0, y0, x1, y1 = cue.box
            sample = pixels[(y0 + y1) // 2, (x0 + x1) // 2][None]
        assert np.abs(np.median(sample, axis=0) - np.asarray(COLOURS[cue.word])).max() <= s.config.colour_jitter + 1


def test_glyph_draws_a_white_shape_of_its_word():
    for s in held_out_scenes(30, seed=5, cues=[CueRequest("glyph", "random")]):
        (cue,) = s.cues
        mask = shape_mask(cue.word, cue.box, s.config.size)
        pixels = np.asarray(s.image).astype(int)
        assert np.abs(np.median(pixels[mask], axis=0) - np.asarray(GLYPH_RGB)).max() <= 10
        assert cue.word in SHAPE_WORDS


@pytest.mark.parametrize("kind", sorted(CUE_KINDS))
def test_random_mode_is_independent_and_other_mode_always_disagrees(kind):
    spec = cue_spec(kind)
    slot = 0 if spec.carries == "colour" else 1
    rand = held_out_scenes(400, seed=4, cues=[CueRequest(kind, "random")])
    agree = np.mean([s.cues[0].word == s.objects[0].words[slot] for s in rand])
    assert 0.5 / len(spec.words) < agree < 1.6 / len(spec.words)  # 1/len(words) expected by chance
    other = held_out_scenes(100, seed=4, cues=[CueRequest(kind, "other")])
    assert all(s.cues[0].word != s.objects[0].words[slot] for s in other)
    assert len({s.cues[0].word for s in other}) == len(spec.words)


def test_cue_metadata_names_kind_word_mode_and_place():
    s = make_scene(rng_for(3, 3), cues=[CueRequest("corner", "other"), CueRequest("border", "first")])
    corner, border = s.cue_of("corner").as_metadata(), s.cue_of("border").as_metadata()
    assert corner["kind"] == "corner" and corner["mode"] == "other" and corner["cell"] == [0, 3]
    assert corner["cells"] == [[0, 3]] and len(corner["box"]) == 4
    assert border["word"] == s.objects[0].colour and "cell" not in border and len(border["cells"]) == 12


def test_unknown_kinds_and_modes_are_refused():
    with pytest.raises(CueError, match="known: corner, bar, glyph, border"):
        CueRequest("halo")
    with pytest.raises(CueError, match="mode"):
        CueRequest("corner", "sometimes")
    with pytest.raises(CueError, match="shape"):
        shape_mask("hexagon", (0, 0, 10, 10), 20)
