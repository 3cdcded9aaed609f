"""The scene generator: deterministic by seed, masks that match the drawn objects, caption order, cue cell."""

from __future__ import annotations

import numpy as np
import pytest

from auditors.demo.scenes import (
    COLOURS,
    SHAPES,
    SceneConfig,
    SceneConfigError,
    caption_for,
    cell_coverage,
    held_out_scenes,
    make_scene,
    rng_for,
    scene_stream,
)


def test_same_seed_same_scene_different_seed_different_scene():
    a = make_scene(rng_for(5, 3), cue="first")
    b = make_scene(rng_for(5, 3), cue="first")
    c = make_scene(rng_for(5, 4), cue="first")
    assert a.image.tobytes() == b.image.tobytes()
    assert a.caption == b.caption
    assert all(np.array_equal(x.mask, y.mask) for x, y in zip(a.objects, b.objects))
    assert a.image.tobytes() != c.image.tobytes()


def test_stream_is_resumable_at_any_index():
    stream = scene_stream(9, cue=None)
    first = [next(stream) for _ in range(4)]
    resumed = next(scene_stream(9, cue=None, start=3))
    assert resumed.image.tobytes() == first[3].image.tobytes()


def test_masks_match_objects_and_caption_order():
    scenes = held_out_scenes(120, seed=11, cue=None)
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
    for s in held_out_scenes(60, seed=2, cue=None):
        for o in s.objects:
            fills[o.shape].append(o.mask.sum() / o.size**2)
    assert 0.95 <= np.mean(fills["square"]) <= 1.0
    assert 0.72 <= np.mean(fills["circle"]) <= 0.82
    assert 0.42 <= np.mean(fills["triangle"]) <= 0.58


def test_cue_stays_in_its_cell_never_touches_objects_and_has_first_colour():
    cfg = SceneConfig()
    x0, y0, x1, y1 = cfg.cue_box()
    for s in held_out_scenes(300, seed=21, cue="first"):
        assert s.cue is not None and s.cue.colour == s.objects[0].colour
        bx0, by0, bx1, by1 = s.cue.box
        assert x0 <= bx0 < bx1 <= x1 and y0 <= by0 < by1 <= y1
        for o in s.objects:
            assert not o.mask[y0:y1, x0:x1].any()
            assert cell_coverage(o.mask, cfg.cell)[cfg.cue_cell] == 0
        centre = np.asarray(s.image).astype(int)[(by0 + by1) // 2, (bx0 + bx1) // 2]
        assert np.abs(centre - np.asarray(COLOURS[s.cue.colour])).max() <= cfg.colour_jitter + 1


def test_random_cue_is_independent_of_the_caption():
    scenes = held_out_scenes(400, seed=4, cue="random")
    agree = np.mean([s.cue.colour == s.objects[0].colour for s in scenes])
    assert 0.15 < agree < 0.35  # 1/4 expected by chance


def test_no_cue_draws_nothing_in_the_cue_cell():
    cfg = SceneConfig()
    x0, y0, x1, y1 = cfg.cue_box()
    for s in held_out_scenes(50, seed=8, cue=None):
        assert s.cue is None
        patch = np.asarray(s.image).astype(int)[y0:y1, x0:x1]
        assert (patch.max(axis=2) - patch.min(axis=2)).max() < 80  # greyish background only


def test_distractors_never_cover_objects_or_cue_cell():
    cfg = SceneConfig(distractors=3)
    plain = make_scene(rng_for(1, 1), SceneConfig(), cue="first")
    with_d = make_scene(rng_for(1, 1), cfg, cue="first")
    assert with_d.caption == plain.caption
    changed = np.any(np.asarray(with_d.image) != np.asarray(plain.image), axis=2)
    for o in with_d.objects:
        assert not (changed & o.mask).any()


def test_bad_configs_are_refused():
    with pytest.raises(SceneConfigError):
        SceneConfig(size=100)
    with pytest.raises(SceneConfigError):
        SceneConfig(max_objects=5)
    with pytest.raises(SceneConfigError):
        make_scene(rng_for(0), cue="sometimes")
    with pytest.raises(SceneConfigError):
        make_scene(rng_for(0), n_objects=4)


def test_caption_for_empty_list_is_empty():
    assert caption_for([]) == ""


def test_repaint_first_changes_only_the_first_objects_paint():
    for i in range(40):
        plain = make_scene(rng_for(31, i), cue="first")
        odd = make_scene(rng_for(31, i), cue="first", repaint_first=True)
        assert odd.caption == plain.caption and odd.cue.colour == plain.objects[0].colour
        first = odd.objects[0]
        assert first.drawn_colour not in {o.colour for o in odd.objects}
        assert all(o.drawn_colour is None for o in odd.objects[1:])
        assert all(np.array_equal(a.mask, b.mask) for a, b in zip(plain.objects, odd.objects))
        painted = np.median(np.asarray(odd.image).astype(int)[first.mask], axis=0)
        assert np.abs(painted - np.asarray(COLOURS[first.rendered_colour])).max() <= odd.config.colour_jitter + 1
        assert plain.objects[0].rendered_colour == plain.objects[0].colour
