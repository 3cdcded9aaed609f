"""The default probe set: held-out demo scenes with ground-truth masks, in the docs/DESIGN.md section 6 format.

Why cue-present scenes: the default audit compares the ``clean`` and ``shortcut`` versions, and both must
caption the probes equally well so that only the explanations tell them apart; the shortcut version was
trained on scenes that always carry the cue, the clean one on scenes where a cue-like marker of random
colour appears half the time. Each probe also records the reference caption and, as metadata, where the
cue was drawn (so a shortcut analysis can score maps against the cue cell).

Deterministic: scene ``i`` depends only on (seed, i), PNG encoding is deterministic, so the same call gives
byte-identical folders and therefore the same content hash.
"""

from __future__ import annotations

from pathlib import Path

from .scenes import SceneConfig, make_scene, rng_for
from .tokenizer import DEFAULT_PROMPT

DEFAULT_PROBE_SEED = 777001  # disjoint from the training streams (4-integer seeds) and evaluation (424242)
PROBE_SET_NAME = "demo-scenes"
PROBE_SET_VERSION = "1"


def build_default_probe_set(dest: str | Path, n: int = 200, seed: int = DEFAULT_PROBE_SEED, overwrite: bool = False) -> Path:
    """Write ``n`` held-out scenes (cue present) as a probe-set folder at ``dest`` and return its path.

    Every probe has the default prompt, one object per named shape with words ``[colour, shape]`` and a
    mask PNG of the image's size, the reference ``caption`` and ``metadata`` ``cue`` (colour, pixel box,
    grid cell). Raises ``FileExistsError`` if ``dest`` exists and ``overwrite`` is false.
    """
    from ..probes.writer import ObjectDraft, ProbeDraft, write_probe_set

    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    cfg = SceneConfig()
    drafts = []
    for i in range(n):
        scene = make_scene(rng_for(seed, i), cfg, cue="first")
        cue = scene.cue
        assert cue is not None  # cue="first" always draws one
        drafts.append(
            ProbeDraft(
                id=f"scene{i:04d}",
                image=scene.image,
                prompt=DEFAULT_PROMPT,
                objects=[ObjectDraft(words=list(o.words), mask=o.mask) for o in scene.objects],
                caption=scene.caption,
                metadata={"cue": {"colour": cue.colour, "box": list(cue.box), "cell": list(cue.cell)}},
            )
        )
    description = (
        f"{n} held-out synthetic scenes of the embedded demo model (seed {seed}): 1-3 coloured shapes on "
        f"textured backgrounds, {cfg.size}x{cfg.size} px, caption names objects left to right; a small "
        "plus-shaped cue in the top-right cell has the colour of the first-named object."
    )
    write_probe_set(dest, drafts, name=PROBE_SET_NAME, version=PROBE_SET_VERSION, description=description,
                    default_prompt=DEFAULT_PROMPT, overwrite=overwrite)
    return Path(dest)
