"""The real-photo probe set: deterministic build, valid format, masks on the objects they name."""

from __future__ import annotations

import numpy as np
import pytest

from auditors.probes import build_real_photo_probe_set, validate_probe_set
from auditors.probes.shapes import ShapeError, rasterise


@pytest.fixture(scope="module")
def photo_set(tmp_path_factory):
    return build_real_photo_probe_set(tmp_path_factory.mktemp("real") / "set")


def _mask(probe_set, probe_id, word):
    probe = probe_set.get(probe_id)
    index = next(i for i, obj in enumerate(probe.objects) if word in obj.words)
    return probe.load_mask(index), np.asarray(probe.load_image(), np.float64)


def test_builds_deterministically_into_a_valid_set(photo_set, tmp_path):
    assert [p.id for p in photo_set.probes] == ["chelsea", "astronaut", "coffee", "rocket", "motorcycle", "camera"]
    assert validate_probe_set(photo_set.root) == []
    again = build_real_photo_probe_set(tmp_path / "again")
    assert again.content_hash == photo_set.content_hash
    for probe in photo_set.probes:
        assert probe.objects and probe.caption and probe.prompt == "Describe the image."
        for index in range(len(probe.objects)):
            mask = probe.load_mask(index)
            assert 0.005 < mask.mean() < 0.9, (probe.id, probe.objects[index].words)


def test_masks_sit_on_their_objects(photo_set):
    rocket, image = _mask(photo_set, "rocket", "rocket")
    brightness = image.mean(axis=2)
    assert brightness[rocket].mean() > 2 * brightness[~rocket].mean()  # white rocket, dusk sky

    bike, image = _mask(photo_set, "motorcycle", "motorcycle")
    red, green, blue = image[..., 0], image[..., 1], image[..., 2]
    bright_red = (red > 120) & (red > 2 * green) & (red > 2 * blue)
    assert bright_red[bike].mean() > 4 * bright_red[~bike].mean()  # the red bike in a brown garage

    cup, image = _mask(photo_set, "coffee", "cup")
    saucer, _ = _mask(photo_set, "coffee", "saucer")
    assert not (cup & saucer).any()  # the saucer mask excludes the cup in front of it
    spoon, _ = _mask(photo_set, "coffee", "spoon")
    assert spoon[284, 365] and not spoon[142, 292]

    person, _ = _mask(photo_set, "astronaut", "astronaut")
    helmet, _ = _mask(photo_set, "astronaut", "helmet")
    assert person[100, 226] and helmet[445, 400] and not person[445, 400]

    eyes, image = _mask(photo_set, "chelsea", "eyes")
    cat, _ = _mask(photo_set, "chelsea", "cat")
    assert (eyes & ~cat).sum() == 0
    greenness = image[..., 1] - image[..., 0]
    assert greenness[eyes].mean() > greenness[cat & ~eyes].mean() + 10  # green eyes in a ginger cat

    tripod, image = _mask(photo_set, "camera", "tripod")
    assert tripod[260, 292] and not tripod[450, 320]


def test_rasterise_shapes_and_errors():
    mask = rasterise([{"polygon": [[0, 0], [9, 0], [9, 9], [0, 9]]}, {"ellipse": [5, 5, 2, 2], "subtract": True}], (12, 10))
    assert mask.shape == (10, 12) and mask[0, 0] and not mask[5, 5] and not mask[0, 11]
    line = rasterise([{"line": [[0, 5], [11, 5]], "width": 3}], (12, 10))
    assert line[5].all() and not line[0].any()
    with pytest.raises(ShapeError, match="unknown shape"):
        rasterise([{"square": 3}], (4, 4))
    with pytest.raises(ShapeError, match="at least 3 points"):
        rasterise([{"polygon": [[0, 0], [1, 1]]}], (4, 4))
    with pytest.raises(ShapeError, match="no shapes"):
        rasterise([], (4, 4))
