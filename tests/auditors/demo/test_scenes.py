"""The scene generator: deterministic by seed, masks that match the drawn objects, caption order, reserved cells."""

from __future__ import annotations

import numpy as np
import pytest

from auditors.demo.cues import CUE_KINDS, CueError, CueRequest, reserved_cells
from auditors.demo.scenes import (
    COLOURS,
    SHAPES,
    SceneConfig,
    SceneConfigError,
    caption_for,
    held_out_scenes,
    make_scene,
    rng_for,
    scene_stream,
)
from auditors.metrics.localisation import cell_coverage

ALL_FIRST = [CueRequest(kind, "first") for kind in CUE_KINDS]


def test_same_seed_same_scene_different_seed_different_scene():
    a = make_scene(rng_for(5, 3), cues=ALL_FIRST)
    b = make_scene(rng_for(5, 3), cues=ALL_FIRST)
    c = make_scene(rng_for(5, 4), cues=ALL_FIRST)
    assert a.image.tobytes() == b.image.tobytes()
    assert a.caption == b.caption and a.cues == b.cues
    assert all(np.array_equal(x.mask, y.mask) for x, y in zip(a.objects, b.objects))
    assert a.image.tobytes() != c.image.tobytes()


def test_stream_is_resumable_at_any_index():
    stream = scene_stream(9)
    first = [next(stream) for _ in range(4)]
    resumed = next(scene_stream(9, start=3))
    assert resumed.image.tobytes() == first[3].image.tobytes()


def test_masks_match_objects_and_caption_order():
    scenes = held_out_scenes(120, seed=11)
    counts = set()
    for s in scenes:
        pixels = np.asarray(s.image).astype(int)
        counts.add(len(s.objects))
        assert len({o.colour for o in s.objects}) == len(s.objects)  # every colour word names one object
        assert len({o.shape for o in s.objects}) == len(s.objects)
        xs = [o.centre[0] for o in s.objects]
        assert xs == sorted(xs)
        assert s.caption == " and ".join(f"a {o.colour} {o.shape}" for o in s.objects)
        union = np.zeros(s.image.size[::-1], dtype=bool)
        for o in s.objects:
            assert o.mask.shape == (s.config.size, s.config.size)
            assert not (union & o.mask).any(), "objects overlap"
            union |= o.mask
            colour = np.median(pixels[o.mask], axis=0)
            assert np.abs(colour - np.asarray(COLOURS[o.colour])).max() <= s.config.colour_jitter + 1
            ys, xs_ = np.nonzero(o.mask)
            assert o.size - 2 <= xs_.max() - xs_.min() + 1 <= o.size
    assert counts == {1, 2, 3}


def test_shapes_are_distinguishable_by_fill_ratio():
    fills = {shape: [] for shape in SHAPES}
    for s in held_out_scenes(60, seed=2):
        for o in s.objects:
            fills[o.shape].append(o.mask.sum() / o.size**2)
    assert 0.95 <= np.mean(fills["square"]) <= 1.0
    assert 0.72 <= np.mean(fills["circle"]) <= 0.82
    assert 0.42 <= np.mean(fills["triangle"]) <= 0.58


def test_no_object_ever_touches_a_reserved_cue_cell():
    cfg = SceneConfig()
    assert set(cfg.reserved) == set(reserved_cells()) and len(cfg.reserved) == 3
    for s in held_out_scenes(300, seed=21, cues=ALL_FIRST):
        for o in s.objects:
            coverage = cell_coverage(o.mask, (cfg.grid, cfg.grid))
            assert all(coverage[cell] == 0 for cell in cfg.reserved)


def test_objects_and_background_do_not_depend_on_which_cues_are_drawn():
    """What makes present / absent / conflicting probes of the same index comparable."""
    for i in range(30):
        plain = make_scene(rng_for(7, i))
        cued = make_scene(rng_for(7, i), cues=[CueRequest("bar", "other"), CueRequest("glyph", "random")])
        assert plain.caption == cued.caption
        assert all(np.array_equal(a.mask, b.mask) for a, b in zip(plain.objects, cued.objects))
        changed = np.any(np.asarray(plain.image) != np.asarray(cued.image), axis=2)
        cue_pixels = np.zeros_like(changed)
        for cue in cued.cues:
            x0, y0, x1, y1 = cue.box
            cue_pixels[y0:y1, x0:x1] = True
        assert changed.any() and not (changed & ~cue_pixels).any()


def test_distractors_never_cover_objects_or_cue_cells():
    plain = make_scene(rng_for(1, 1), SceneConfig(), cues=ALL_FIRST)
    with_d = make_scene(rng_for(1, 1), SceneConfig(distractors=3), cues=ALL_FIRST)
    assert with_d.caption == plain.caption
    changed = np.any(np.asarray(with_d.image) != np.asarray(plain.image), axis=2)
    assert changed.any()
    for o in with_d.objects:
        assert not (changed & o.mask).any()
    for cue in with_d.cues:
        if cue.cell is not None:
            x0, y0, x1, y1 = SceneConfig().cell_box(cue.cell)
            assert not changed[y0:y1, x0:x1].any()


def test_bad_configs_are_refused():
    with pytest.raises(SceneConfigError):
        SceneConfig(size=100)
    with pytest.raises(SceneConfigError):
        SceneConfig(max_objects=5)
    with pytest.raises(SceneConfigError, match="reserved"):
        SceneConfig(reserved=((4, 0),))
    with pytest.raises(SceneConfigError):
        make_scene(rng_for(0), n_objects=4)
    with pytest.raises(SceneConfigError, match="repaint"):
        make_scene(rng_for(0), repaint="size")
    with pytest.raises(CueError, match="once"):
        make_scene(rng_for(0), cues=[CueRequest("bar"), CueRequest("bar", "random")])


def test_caption_for_empty_list_is_empty():
    assert caption_for([]) == ""


@pytest.mark.parametrize("repaint", ["colour", "shape"])
def test_repaint_changes_only_how_the_first_object_is_drawn(repaint):
    for i in range(40):
        plain = make_scene(rng_for(31, i), cues=ALL_FIRST)
        odd = make_scene(rng_for(31, i), cues=ALL_FIRST, repaint=repaint)
        assert odd.caption == plain.caption
        assert [c.word for c in odd.cues] == [c.word for c in plain.cues]  # cues still carry the named words
        first = odd.objects[0]
        assert all(o.drawn_colour is None and o.drawn_shape is None for o in odd.objects[1:])
        if repaint == "colour":
            assert first.drawn_colour not in {o.colour for o in odd.objects} and first.drawn_shape is None
            assert np.array_equal(first.mask, plain.objects[0].mask)
            painted = np.median(np.asarray(odd.image).astype(int)[first.mask], axis=0)
            assert np.abs(painted - np.asarray(COLOURS[first.rendered_colour])).max() <= odd.config.colour_jitter + 1
        else:
            assert first.drawn_shape == "diamond" and first.rendered_shape not in SHAPES and first.drawn_colour is None
            assert not np.array_equal(first.mask, plain.objects[0].mask)
            assert 0.42 <= first.mask.sum() / first.size**2 <= 0.58  # a diamond fills half its box
