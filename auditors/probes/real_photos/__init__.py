"""The real-photo probe set: scikit-image's bundled sample photographs with hand-made masks.

Why: users auditing a real model (Qwen2-VL, LLaVA, ...) need probes with real objects; these photos
ship inside scikit-image (no download), and the masks are shapes drawn by hand in `masks.json`
(rasterised at build time, see `auditors.probes.shapes`). The demo model is not expected to
caption them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np

from auditors.probes.model import ProbeSet
from auditors.probes.shapes import rasterise
from auditors.probes.writer import ObjectDraft, ProbeDraft, write_probe_set

SPEC_FILE = Path(__file__).with_name("masks.json")


def _photo_loaders() -> dict[str, Callable[[], np.ndarray]]:
    from skimage import data

    return {
        "chelsea": data.chelsea,
        "astronaut": data.astronaut,
        "coffee": data.coffee,
        "rocket": data.rocket,
        "motorcycle": lambda: data.stereo_motorcycle()[0],
        "camera": data.camera,
    }


def load_photo(name: str) -> np.ndarray:
    """An RGB uint8 array of the named scikit-image sample photo (greyscale ones made RGB)."""
    loaders = _photo_loaders()
    if name not in loaders:
        raise KeyError(f"unknown sample photo {name!r}; known: {', '.join(sorted(loaders))}")
    image = np.asarray(loaders[name]())
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return image[..., :3].astype(np.uint8)


def build_real_photo_probe_set(dest: str | Path, overwrite: bool = False) -> ProbeSet:
    """Write the real-photo probe set to `dest` (same bytes every time with the same libraries)."""
    spec = json.loads(SPEC_FILE.read_text(encoding="utf-8"))
    drafts = []
    for entry in spec["probes"]:
        image = load_photo(entry["image"])
        size = (image.shape[1], image.shape[0])
        objects = [
            ObjectDraft(obj["words"], rasterise(obj["shapes"], size, f"{entry['id']}/{obj['words'][0]}"))
            for obj in entry["objects"]
        ]
        drafts.append(
            ProbeDraft(
                id=entry["id"],
                image=image,
                objects=objects,
                caption=entry.get("caption"),
                metadata={"source": f"skimage.data:{entry['image']}"},
            )
        )
    return write_probe_set(
        dest,
        drafts,
        name=spec["name"],
        version=spec["version"],
        description=spec["description"],
        default_prompt=spec["default_prompt"],
        overwrite=overwrite,
        source=spec["source"],
        licence=spec["licence"],
    )
