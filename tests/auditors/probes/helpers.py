"""Small probe sets written by tests (real files, no fixtures from elsewhere)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from auditors.probes import ObjectDraft, ProbeDraft, write_probe_set


def square_probe(probe_id: str, size=(40, 30), box=(5, 5, 20, 15), colour=(200, 30, 30)) -> ProbeDraft:
    width, height = size
    image = np.full((height, width, 3), 240, np.uint8)
    x0, y0, x1, y1 = box
    image[y0:y1, x0:x1] = colour
    mask = np.zeros((height, width), bool)
    mask[y0:y1, x0:x1] = True
    return ProbeDraft(id=probe_id, image=image, objects=[ObjectDraft(["red", "square"], mask)], caption="a red square")


def write_small_set(dest: Path, n: int = 3, **kwargs):
    probes = [square_probe(f"p{i:03d}", box=(2 + i, 3, 12 + i, 13)) for i in range(n)]
    return write_probe_set(
        dest, probes, name=kwargs.pop("name", "small"), version="1", default_prompt="Describe the image.", **kwargs
    )
