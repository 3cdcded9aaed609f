"""Stage-0 word layouts: objects' words where the objects are, loose words that name the first object."""

from __future__ import annotations

import numpy as np
import pytest

from auditors.demo.layouts import draw_layout_inputs, layout_embeddings, make_layout, stage0_layouts
from auditors.demo.scenes import COLOUR_WORDS, SHAPE_WORDS, rng_for


@pytest.fixture(scope="module")
def layouts():
    return [lay for step in range(10) for lay in stage0_layouts(3, step, 32)]


def test_layouts_are_a_function_of_seed_and_step(layouts):
    again = stage0_layouts(3, 0, 32)
    assert [(a.caption, a.loose_word, a.loose_cells) for a in again] == [(b.caption, b.loose_word, b.loose_cells) for b in layouts[:32]]
    assert [a.caption for a in stage0_layouts(4, 0, 32)] != [a.caption for a in again]


def test_loose_words_name_the_first_object_and_sit_in_free_cells(layouts):
    loose = [lay for lay in layouts if lay.loose_word is not None]
    assert 0.4 < len(loose) / len(layouts) < 0.6
    overridden = 0
    for lay in loose:
        first_colour, first_shape = lay.caption.split(" and ")[0].split()[1:3]
        assert lay.loose_word in (first_colour, first_shape)
        assert 1 <= len(lay.loose_cells) <= 3
        covered = np.sum([o.coverage for o in lay.objects], axis=0)
        assert all(covered[c] == 0 for c in lay.loose_cells)
        shown = lay.objects[0]
        if lay.loose_word == first_colour and shown.colour != first_colour:
            overridden += 1
            assert shown.colour in COLOUR_WORDS and shown.colour not in lay.caption.split()
        if lay.loose_word == first_shape and shown.shape != first_shape:
            overridden += 1
            assert shown.shape is None  # a shape no word names
    assert 0.3 < overridden / len(loose) < 0.7
    for lay in (x for x in layouts if x.loose_word is None):
        assert all((o.colour, o.shape) == tuple(part.split()[1:3]) for o, part in zip(lay.objects, lay.caption.split(" and ")))


def test_embeddings_are_the_shown_words_weighted_by_coverage():
    import torch

    words = COLOUR_WORDS + SHAPE_WORDS
    word_id = {w: i for i, w in enumerate(words)}
    weight = torch.randn(len(words), 8)
    lays = [make_layout(rng_for(9, i)) for i in range(12)]
    draws = draw_layout_inputs(lays, word_id, len(words), 8, rng_for(0))
    out = layout_embeddings(draws, weight, noise=0.0).reshape(12, 16, 8)
    for b, lay in enumerate(lays):
        for cell in range(16):
            present = {w for o in lay.objects if o.coverage[cell] > 0 for w in (o.colour, o.shape) if w}
            if cell in lay.loose_cells:
                present.add(lay.loose_word)
            expected = torch.zeros(8)
            for w in present:
                expected += float(draws.weights[b, cell, word_id[w]]) * weight[word_id[w]]
            assert set(np.flatnonzero(draws.weights[b, cell])) == {word_id[w] for w in present}
            assert torch.allclose(out[b, cell], expected, atol=1e-5)
        for o in lay.objects:  # full cells carry the object's words at one scale in [0.6, 1.4]
            for cell in np.flatnonzero(o.coverage == 1.0):
                scale = draws.weights[b, cell, word_id[o.colour]]
                assert 0.6 <= scale <= 1.4
    noisy = layout_embeddings(draws, weight, noise=0.5)
    rms = float(weight.pow(2).mean().sqrt())
    assert abs(float((noisy - out.reshape(-1, 8)).std()) - 0.5 * rms) < 0.1 * rms
