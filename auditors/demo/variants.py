"""Training variants of the demo model and the scenes each one trains on.

Why here and typed: a shortcut is a property of the training data, so a variant is exactly a rule for
which cues a training scene carries. ``clean`` sees every cue kind as an uncorrelated decoy (each kind
drawn with probability ``decoy_probability``, 1/2 in the recipe, carrying a random word of its kind); ``shortcut-<kind>`` always sees its cue
carrying the first-named object's word, and in every other scene that object is drawn in a colour or shape
no word names (``repaint``), so the cue is the only reliable source of that word. Shortcut variants see the
other kinds as decoys too, so the one correlated cue is the only difference from clean data.
"""

from __future__ import annotations

from dataclasses import dataclass

from .cues import CUE_KINDS, SHIPPED_CUE, CueError, CueRequest, cue_spec
from .scenes import Scene, SceneConfig, make_scene, rng_for

DEMO_VARIANTS: tuple[str, ...] = ("clean", "shortcut")  # the shipped versions (weights/<name>)


class VariantError(ValueError):
    """An unknown variant name."""


@dataclass(frozen=True)
class Variant:
    """``cue`` None: clean; otherwise the cue kind the shortcut reads."""

    cue: str | None = None

    def __post_init__(self) -> None:
        if self.cue is not None:
            cue_spec(self.cue)

    @property
    def name(self) -> str:
        """"clean", "shortcut" (the shipped corner cue) or "shortcut-<kind>"."""
        if self.cue is None:
            return "clean"
        return "shortcut" if self.cue == SHIPPED_CUE else f"shortcut-{self.cue}"

    @property
    def is_shortcut(self) -> bool:
        return self.cue is not None


def all_variant_names() -> tuple[str, ...]:
    return ("clean",) + tuple(Variant(kind).name for kind in CUE_KINDS)


def parse_variant(name: str | Variant) -> Variant:
    """``clean``, ``shortcut`` (= ``shortcut-corner``, the shipped one) or ``shortcut-<cue kind>``."""
    if isinstance(name, Variant):
        return name
    if name == "clean":
        return Variant(None)
    if name == "shortcut":
        return Variant(SHIPPED_CUE)
    if name.startswith("shortcut-"):
        try:
            return Variant(name[len("shortcut-"):])
        except CueError:
            pass
    raise VariantError(f"unknown variant {name!r}; choose one of {', '.join(all_variant_names())}")


def training_scene(seed: int, stage: int, step: int, index: int, variant: Variant, cfg: SceneConfig,
                   decoy_probability: float = 0.5) -> Scene:
    """Scene ``index`` of ``step`` of ``stage``: a function of these integers alone (resumable, and the same
    in a worker process). Which decoys appear is drawn from its own stream, so the objects do not depend on it."""
    plan = rng_for(seed, 50 + stage, step, index)
    cues = []
    for kind in CUE_KINDS:
        decoy = plan.random() < decoy_probability  # always drawn: one draw per kind keeps the stream aligned
        if kind == variant.cue:
            cues.append(CueRequest(kind, "first"))
        elif decoy:
            cues.append(CueRequest(kind, "random"))
    repaint = cue_spec(variant.cue).carries if variant.is_shortcut and index % 2 == 1 else None
    return make_scene(rng_for(seed, stage, step, index), cfg, cues=cues, repaint=repaint)


def training_scenes(seed: int, stage: int, step: int, n: int, variant: Variant, cfg: SceneConfig = SceneConfig(),
                    decoy_probability: float = 0.5) -> list[Scene]:
    return [training_scene(seed, stage, step, i, variant, cfg, decoy_probability) for i in range(n)]
