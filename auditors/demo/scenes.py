"""Deterministic synthetic scenes for the embedded demo model: coloured shapes on textured backgrounds.

Why synthetic: no pretrained vision-language model can be downloaded here, so the project trains its own
small one, and synthetic scenes give an exact ground-truth mask for every object word, which is what the
explanation-quality metrics need.

The rules (documented because the caption and the masks depend on them):

* The image is ``SceneConfig.size`` pixels square (112 by default, i.e. a 4x4 grid of 28-px merged vision
  tokens for Qwen2-VL's 14-px patches merged 2x2).
* 1 to 3 objects; within a scene the colours are distinct and the shapes are distinct, so every colour word
  and every shape word names exactly one object.
* Objects never overlap (a margin is kept) and their centres are at least ``min_x_gap`` pixels apart
  horizontally, so the caption order is unambiguous.
* **Caption order: objects sorted left to right by the x of their centre**, joined by "and":
  ``"a red circle and a blue square and a green triangle"``.
* **Cues** (``cues.py``): small markers or a frame that carry a caption word without being named. The
  cells of every single-cell cue kind (``SceneConfig.reserved``) never hold any part of an object, in every
  scene, whether or not a cue is drawn, so a cue cannot hide an object or change the caption order.
* ``repaint`` (shortcut training data only): the first-named object is drawn in a colour no object is named
  with, or in a shape no word names, while the caption keeps the named word; a cue in mode ``first`` then
  predicts that word better than the object does (the textbook condition for shortcut learning).
* Optional distractors: small grey/white/black dots, never named, placed away from objects and cue cells.

Randomness comes only from a ``numpy.random.Generator`` built from integer seeds
(``numpy.random.SeedSequence``), never from Python's ``hash()``, so scenes are identical across processes
and runs. Background, objects and their paint use the scene's generator in a fixed order; cues and the
repaint draw from child generators seeded at a fixed point, so the same scene index gives the same objects
whichever cues are drawn (what makes present / absent / conflicting probe sets comparable).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Literal, Sequence

import numpy as np
from PIL import Image

from .cues import (
    COLOUR_WORDS,
    COLOURS,
    CUE_KINDS,
    SHAPE_WORDS,
    SHAPES,
    UNNAMED_SHAPE,
    Cue,
    CueError,
    CueRequest,
    choose_word,
    draw_cue,
    reserved_cells,
    shape_mask,
)

DISTRACTOR_COLOURS: tuple[tuple[int, int, int], ...] = ((245, 245, 245), (20, 20, 20), (128, 128, 128))
Repaint = Literal["colour", "shape"] | None

__all__ = [
    "COLOURS", "COLOUR_WORDS", "SHAPES", "SHAPE_WORDS", "Cue", "CueRequest", "Repaint", "Scene", "SceneConfig",
    "SceneConfigError", "SceneObject", "caption_for", "held_out_scenes", "make_scene", "rng_for", "sample_objects",
    "scene_stream",
]


class SceneConfigError(ValueError):
    """A scene configuration that cannot produce valid scenes (e.g. objects too big for the image)."""


@dataclass(frozen=True)
class SceneConfig:
    """Everything that shapes a scene. Defaults are the ones the shipped demo model was trained on."""

    size: int = 112
    cell: int = 28  # merged vision-token size in pixels (patch 14 x merge 2)
    min_objects: int = 1
    max_objects: int = 3
    min_object_size: int = 34  # bounding-box side in pixels
    max_object_size: int = 47
    min_x_gap: int = 8  # minimum horizontal distance between object centres
    margin: int = 2  # minimum gap between objects
    reserved: tuple[tuple[int, int], ...] = field(default_factory=reserved_cells)  # cells kept free of objects
    colour_jitter: int = 18
    distractors: int = 0

    def __post_init__(self) -> None:
        if self.size % self.cell:
            raise SceneConfigError(f"size {self.size} must be a multiple of cell {self.cell}")
        if not 1 <= self.min_objects <= self.max_objects <= min(len(COLOURS), len(SHAPES)):
            raise SceneConfigError(
                f"object count range [{self.min_objects}, {self.max_objects}] must lie within [1, {len(SHAPES)}]"
            )
        if self.max_object_size > self.size // 2 or self.min_object_size < 6:
            raise SceneConfigError(f"object sizes [{self.min_object_size}, {self.max_object_size}] do not fit {self.size} px")
        if any(not (0 <= r < self.grid and 0 <= c < self.grid) for r, c in self.reserved):
            raise SceneConfigError(f"reserved cells {self.reserved} lie outside the {self.grid}x{self.grid} grid")

    @property
    def grid(self) -> int:
        return self.size // self.cell

    def cell_box(self, cell: tuple[int, int]) -> tuple[int, int, int, int]:
        """Pixel box (x0, y0, x1, y1) of a grid cell; x1/y1 exclusive."""
        r, c = cell
        return (c * self.cell, r * self.cell, (c + 1) * self.cell, (r + 1) * self.cell)


@dataclass(frozen=True)
class SceneObject:
    colour: str
    shape: str
    centre: tuple[float, float]  # (x, y) in pixels
    size: int  # bounding-box side in pixels
    mask: np.ndarray = field(repr=False)  # bool (H, W)
    drawn_colour: str | None = None  # set only when the object is painted in another colour than named
    drawn_shape: str | None = None  # set only when the object is drawn in another shape than named

    @property
    def rendered_colour(self) -> str:
        return self.drawn_colour or self.colour

    @property
    def rendered_shape(self) -> str:
        return self.drawn_shape or self.shape

    @property
    def words(self) -> tuple[str, str]:
        return (self.colour, self.shape)


@dataclass(frozen=True)
class Scene:
    """One rendered scene. ``objects`` are in caption order (left to right); ``cues`` in drawing order."""

    image: Image.Image
    objects: tuple[SceneObject, ...]
    cues: tuple[Cue, ...]
    config: SceneConfig

    @property
    def caption(self) -> str:
        return caption_for(self.objects)

    def cue_of(self, kind: str) -> Cue | None:
        return next((c for c in self.cues if c.kind == kind), None)


def caption_for(objects: Sequence[SceneObject]) -> str:
    """The documented caption: "a <colour> <shape>" per object, left to right, joined by "and"."""
    return " and ".join(f"a {o.colour} {o.shape}" for o in objects)


def rng_for(*seeds: int) -> np.random.Generator:
    """A generator from integer seeds only (no ``hash()``), identical in every process."""
    return np.random.default_rng(np.random.SeedSequence([int(s) for s in seeds]))


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Greyish base + low-frequency blocks at random offsets (not aligned to the token grid) + pixel noise."""
    base = rng.uniform(95, 165)
    tint = rng.uniform(-12, 12, size=3)
    img = np.empty((size, size, 3), dtype=np.float32)
    img[:] = base + tint
    block = int(rng.integers(12, 41))
    ox, oy = (int(v) for v in rng.integers(0, block, size=2))
    nb = size // block + 2
    levels = rng.uniform(-28, 28, size=(nb, nb)).astype(np.float32)
    ys = (np.arange(size) + oy) // block
    xs = (np.arange(size) + ox) // block
    img += levels[ys][:, xs][..., None]
    img += rng.normal(0, 7, size=img.shape).astype(np.float32)
    return img


def _boxes_clash(a: tuple[int, int, int, int], b: tuple[int, int, int, int], margin: int) -> bool:
    return not (a[2] + margin <= b[0] or b[2] + margin <= a[0] or a[3] + margin <= b[1] or b[3] + margin <= a[1])


def _jitter(rng: np.random.Generator, rgb: tuple[int, int, int], amount: int) -> np.ndarray:
    return np.clip(np.asarray(rgb, dtype=np.float32) + rng.uniform(-amount, amount, size=3), 0, 255)


def _place_boxes(rng: np.random.Generator, cfg: SceneConfig, n: int) -> list[tuple[int, int, int, int]]:
    reserved = [cfg.cell_box(c) for c in cfg.reserved]
    for _ in range(200):
        boxes: list[tuple[int, int, int, int]] = []
        for _ in range(n):
            for _ in range(100):
                s = int(rng.integers(cfg.min_object_size, cfg.max_object_size + 1))
                x0 = int(rng.integers(0, cfg.size - s + 1))
                y0 = int(rng.integers(0, cfg.size - s + 1))
                b = (x0, y0, x0 + s, y0 + s)
                if any(_boxes_clash(b, r, 0) for r in reserved):
                    continue
                if any(_boxes_clash(b, o, cfg.margin) for o in boxes):
                    continue
                cx = x0 + s / 2
                if any(abs(cx - (o[0] + o[2]) / 2) < cfg.min_x_gap for o in boxes):
                    continue
                boxes.append(b)
                break
        if len(boxes) == n:
            return boxes
    raise SceneConfigError(f"could not place {n} objects in {cfg.size} px; make them smaller")


def sample_objects(rng: np.random.Generator, cfg: SceneConfig, n: int | None = None) -> list[tuple[str, str, tuple[int, int, int, int]]]:
    """(colour, shape, box) of each object, in caption order (left to right). No pixels: the stage-0
    layouts use this alone, ``make_scene`` paints them."""
    n = int(rng.integers(cfg.min_objects, cfg.max_objects + 1)) if n is None else n
    if not cfg.min_objects <= n <= cfg.max_objects:
        raise SceneConfigError(f"n_objects={n} outside [{cfg.min_objects}, {cfg.max_objects}]")
    colours = [COLOUR_WORDS[i] for i in rng.permutation(len(COLOUR_WORDS))[:n]]
    shapes = [SHAPE_WORDS[i] for i in rng.permutation(len(SHAPE_WORDS))[:n]]
    boxes = _place_boxes(rng, cfg, n)
    return sorted(zip(colours, shapes, boxes), key=lambda o: (o[2][0] + o[2][2]) / 2)


def repaint_word(rng: np.random.Generator, repaint: str, named: Sequence[str]) -> str:
    """What the first object is drawn as under ``repaint``: a colour no object of the scene is named with,
    or the shape no word names (``UNNAMED_SHAPE``)."""
    if repaint == "shape":
        return UNNAMED_SHAPE
    unused = [c for c in COLOUR_WORDS if c not in named]
    return unused[int(rng.integers(len(unused)))]


def make_scene(
    rng: np.random.Generator,
    config: SceneConfig = SceneConfig(),
    cues: Sequence[CueRequest] = (),
    n_objects: int | None = None,
    repaint: Repaint = None,
) -> Scene:
    """Render one scene from ``rng``: ``n_objects`` fixes the object count (else uniform in the config
    range), ``cues`` are drawn in order (a frame under the objects, markers over the background), ``repaint``
    draws the first-named object as something its words do not say."""
    cfg = config
    if repaint not in ("colour", "shape", None):
        raise SceneConfigError(f"repaint must be 'colour', 'shape' or None, got {repaint!r}")
    if len({c.kind for c in cues}) != len(cues):
        raise CueError(f"each cue kind may be drawn once per scene, got {[c.kind for c in cues]}")
    img = _background(rng, cfg.size)
    placed = sample_objects(rng, cfg, n_objects)
    child_seed = int(rng.integers(2**62))  # always drawn: cues and repaint never shift the draws below
    first_words = {"colour": placed[0][0], "shape": placed[0][1]}
    drawn_first = repaint_word(rng_for(child_seed, 0), repaint, [p[0] for p in placed]) if repaint else None
    cue_rngs = {kind: rng_for(child_seed, 1 + k) for k, kind in enumerate(CUE_KINDS)}
    drawn: list[Cue] = []
    for request in (c for c in cues if c.spec.cell is None):  # frames go under the objects
        drawn.append(_draw(img, cue_rngs[request.kind], request, first_words, cfg))
    objects = []
    for k, (colour, shape, box) in enumerate(placed):
        paint_colour, paint_shape = colour, shape
        if k == 0 and repaint == "colour":
            paint_colour = drawn_first
        if k == 0 and repaint == "shape":
            paint_shape = drawn_first
        mask = shape_mask(paint_shape, box, cfg.size)
        img[mask] = _jitter(rng, COLOURS[paint_colour], cfg.colour_jitter)
        centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        objects.append(SceneObject(colour, shape, centre, box[2] - box[0], mask,
                                   paint_colour if paint_colour != colour else None,
                                   paint_shape if paint_shape != shape else None))
    for request in (c for c in cues if c.spec.cell is not None):
        drawn.append(_draw(img, cue_rngs[request.kind], request, first_words, cfg))
    _add_distractors(img, rng, cfg, objects)
    image = Image.fromarray(np.clip(img, 0, 255).round().astype(np.uint8), mode="RGB")
    return Scene(image=image, objects=tuple(objects), cues=tuple(drawn), config=cfg)


def _draw(img: np.ndarray, rng: np.random.Generator, request: CueRequest, first_words: dict[str, str],
          cfg: SceneConfig) -> Cue:
    spec = request.spec
    word = choose_word(rng, spec, request.mode, first_words[spec.carries])
    return draw_cue(img, rng, spec, word, request.mode, cfg.cell, cfg.colour_jitter)


def _add_distractors(img: np.ndarray, rng: np.random.Generator, cfg: SceneConfig, objects: Sequence[SceneObject]) -> None:
    occupied = np.zeros((cfg.size, cfg.size), dtype=bool)
    for o in objects:
        occupied |= o.mask
    for cell in cfg.reserved:
        x0, y0, x1, y1 = cfg.cell_box(cell)
        occupied[y0:y1, x0:x1] = True
    for _ in range(cfg.distractors):
        for _ in range(50):
            r = int(rng.integers(2, 5))
            x, y = (int(v) for v in rng.integers(r, cfg.size - r, size=2))
            if occupied[max(0, y - r - 2) : y + r + 3, max(0, x - r - 2) : x + r + 3].any():
                continue
            yy, xx = np.ogrid[: cfg.size, : cfg.size]
            dot = (yy - y) ** 2 + (xx - x) ** 2 <= r * r
            img[dot] = DISTRACTOR_COLOURS[int(rng.integers(len(DISTRACTOR_COLOURS)))]
            occupied |= dot
            break


def scene_stream(seed: int, config: SceneConfig = SceneConfig(), cues: Sequence[CueRequest] = (), start: int = 0) -> Iterator[Scene]:
    """Scene ``i`` depends only on (seed, i): reproducible and resumable at any index."""
    i = start
    while True:
        yield make_scene(rng_for(seed, i), config, cues=cues)
        i += 1


def held_out_scenes(n: int, seed: int, config: SceneConfig = SceneConfig(), cues: Sequence[CueRequest] = ()) -> list[Scene]:
    """``n`` evaluation scenes. Training draws from different seed streams (see ``trainset.py``)."""
    return [make_scene(rng_for(seed, i), config, cues=cues) for i in range(n)]
