"""Tiny random VLMs (one per adapter) and test images, built locally for the auditors tests."""

from __future__ import annotations

import numpy as np
import pytest

FAMILIES = ("qwen2_vl", "qwen2_5_vl", "llava", "internvl")


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_models():
    """family -> (model, processor), built once per session (about 0.2 M parameters each)."""
    from auditors.synthetic_models import build_synthetic_vlm

    return {family: build_synthetic_vlm(family, seed=7) for family in FAMILIES}


@pytest.fixture(scope="session")
def noise_image():
    from PIL import Image

    rng = np.random.RandomState(0)
    return Image.fromarray((rng.rand(112, 140, 3) * 255).astype("uint8"))


def bright_square_image(size=(112, 112), box=(0, 0, 28, 28)):
    """Mid-grey image with one white square (x0, y0, x1, y1) in pixels."""
    from PIL import Image

    arr = np.full((size[1], size[0], 3), 90, dtype=np.uint8)
    x0, y0, x1, y1 = box
    arr[y0:y1, x0:x1] = 255
    return Image.fromarray(arr)
