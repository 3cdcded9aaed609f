"""Demo probe sets: held-out scenes with ground-truth masks, in the DESIGN.md section 6 format.

Why cue modes: a probe set that always carries the shipped shortcut's own marker only tests for that one
shortcut. Each probe here carries one cue of a kind from ``cue_kinds`` in a mode:

* ``present``: the cue carries the first-named object's word (what a shortcut model was trained on);
* ``absent``: no cue is drawn (a shortcut model loses its source of the word);
* ``conflicting``: the cue carries another word of its kind than the first object's (does the model name
  what it looks at, or the cue?);
* ``mixed``: a third of each, the cue kinds cycling within each mode.

Every probe records its cue in ``metadata["cue"]``: kind, mode, whether it was drawn, the word it carries,
its pixel box and grid cells (``cell`` too for single-cell cues), so an audit can score maps against the
cue region. Scene ``i`` has the same objects whatever cue is drawn in it (``scenes.make_scene``).

Deterministic: scene ``i`` depends only on (seed, i) and the options; PNG encoding is deterministic, so
the same call gives byte-identical folders and therefore the same content hash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Sequence

from .cues import CUE_KINDS, SHIPPED_CUE, CueRequest, cue_spec
from .scenes import SceneConfig, make_scene, rng_for
from .tokenizer import DEFAULT_PROMPT

DEFAULT_PROBE_SEED = 777001  # disjoint from the training streams (4-integer seeds) and evaluation (424242)
PROBE_SET_NAME = "demo-scenes"
PROBE_SET_VERSION = "2"
ProbeMode = Literal["present", "absent", "conflicting", "mixed"]
PROBE_MODES: tuple[str, ...] = ("present", "absent", "conflicting", "mixed")
_MIXED = ("present", "absent", "conflicting")
_CUE_MODE = {"present": "first", "conflicting": "other"}

# The default set (what `mllm-audit demo` and the flows' default probe set use): every cue kind, a third of the
# probes each present, absent and conflicting, so the default audit is not tuned to the shipped shortcut's own
# cue; the demo's verdict on it is measured in MODEL_CARD.md.
DEFAULT_CUE_KINDS: tuple[str, ...] = tuple(CUE_KINDS)
DEFAULT_MODE: ProbeMode = "mixed"


def probe_plan(n: int, cue_kinds: Sequence[str], mode: str) -> list[tuple[str, str]]:
    """(cue kind, mode) of each probe: modes in turn for ``mixed`` (present, absent, conflicting, ...), and
    within each mode the cue kinds in turn, so every combination appears about equally often."""
    if mode not in PROBE_MODES:
        raise ValueError(f"probe mode must be one of {PROBE_MODES}, got {mode!r}")
    if not cue_kinds:
        raise ValueError("cue_kinds must name at least one cue kind")
    for kind in cue_kinds:
        cue_spec(kind)
    if mode != "mixed":
        return [(cue_kinds[i % len(cue_kinds)], mode) for i in range(n)]
    return [(cue_kinds[(i // 3) % len(cue_kinds)], _MIXED[i % 3]) for i in range(n)]


def _cue_metadata(scene: Any, kind: str, mode: str) -> dict[str, Any]:
    drawn = scene.cue_of(kind)
    if drawn is not None:
        return {**drawn.as_metadata(), "mode": mode, "drawn": True}
    spec = cue_spec(kind)
    cells = spec.cells(scene.config.grid)
    return {"kind": kind, "mode": mode, "drawn": False, "word": None, "carries": spec.carries, "box": None,
            "cells": [list(c) for c in cells]}


def build_default_probe_set(dest: str | Path, n: int = 200, seed: int = DEFAULT_PROBE_SEED, overwrite: bool = False,
                            cue_kinds: Sequence[str] = DEFAULT_CUE_KINDS, mode: str = DEFAULT_MODE) -> Path:
    """Write ``n`` held-out scenes as a probe-set folder at ``dest`` and return its path.

    Every probe has the default prompt, one object per named shape with words ``[colour, shape]`` and a
    mask PNG of the image's size, the reference ``caption`` and ``metadata["cue"]`` (see the module doc).
    Raises ``FileExistsError`` if ``dest`` exists and ``overwrite`` is false, ``ValueError`` for an unknown
    cue kind or mode."""
    from ..probes.writer import ObjectDraft, ProbeDraft, write_probe_set

    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    cfg = SceneConfig()
    drafts = []
    for i, (kind, probe_mode) in enumerate(probe_plan(n, tuple(cue_kinds), mode)):
        cues = (CueRequest(kind, _CUE_MODE[probe_mode]),) if probe_mode in _CUE_MODE else ()  # type: ignore[arg-type]
        scene = make_scene(rng_for(seed, i), cfg, cues=cues)
        drafts.append(ProbeDraft(
            id=f"scene{i:04d}", image=scene.image, prompt=DEFAULT_PROMPT,
            objects=[ObjectDraft(words=list(o.words), mask=o.mask) for o in scene.objects],
            caption=scene.caption, metadata={"cue": _cue_metadata(scene, kind, probe_mode)},
        ))
    kinds = ", ".join(f"{k} ({CUE_KINDS[k].form}, carries a {CUE_KINDS[k].carries} word)" for k in dict.fromkeys(cue_kinds))
    description = (
        f"{n} held-out synthetic scenes of the embedded demo model (seed {seed}): 1-3 coloured shapes on "
        f"textured backgrounds, {cfg.size}x{cfg.size} px, caption names objects left to right; cue mode {mode}, "
        f"cue kinds {kinds}; each probe's metadata names its cue, mode and cue cells."
    )
    write_probe_set(dest, drafts, name=PROBE_SET_NAME, version=PROBE_SET_VERSION, description=description,
                    default_prompt=DEFAULT_PROMPT, overwrite=overwrite)
    return Path(dest)
