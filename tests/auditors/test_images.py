"""`auditors.images.load_image`: an image file is read by the probe sets' one reader, same rules."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from auditors.errors import AuditorInputError
from auditors.images import load_image


def test_an_8bit_image_in_any_mode_reads_as_rgb(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("RGB", (20, 10), (200, 30, 30)).convert("CMYK").save(path)
    image = load_image(path)
    assert image.mode == "RGB" and image.size == (20, 10)


def test_a_16bit_image_is_refused_not_clipped_to_white(tmp_path):
    path = tmp_path / "deep.png"
    Image.fromarray((np.arange(200, dtype=np.uint16).reshape(10, 20) * 300)).save(path)
    with pytest.raises(AuditorInputError, match="deep.png has pixel mode I;16 .*save it as 8-bit RGB"):
        load_image(path)


def test_a_truncated_image_is_named(tmp_path):
    path = tmp_path / "cut.png"
    Image.new("RGB", (64, 64), (1, 2, 3)).save(path)
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(AuditorInputError, match="cut.png cannot be decoded"):
        load_image(path)
