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
* **The cue cell** (the top-right grid cell by default) never contains any part of an object, in every
  scene, whether or not a cue is drawn. The *cue* is a small plus-shaped marker drawn in that cell:
  ``cue="first"`` colours it like the first-named object (the spurious shortcut), ``cue="random"``
  gives it an independent random colour (a harmless decoy the clean model learns to ignore), ``cue=None``
  draws nothing. Because the cue is never named and its cell is kept free of objects, it cannot change the
  caption or the caption order.
* Optional distractors: small grey/white/black dots, never named, placed away from objects and the cue cell.

Randomness comes only from a ``numpy.random.Generator`` built from integer seeds
(``numpy.random.SeedSequence``), never from Python's ``hash()``, so scenes are identical across processes
and runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Literal, Sequence

import numpy as np
from PIL import Image, ImageDraw

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 40, 40),
    "green": (40, 175, 60),
    "blue": (45, 80, 220),
    "yellow": (230, 205, 40),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")
COLOUR_WORDS: tuple[str, ...] = tuple(COLOURS)
SHAPE_WORDS: tuple[str, ...] = SHAPES
DISTRACTOR_COLOURS: tuple[tuple[int, int, int], ...] = ((245, 245, 245), (20, 20, 20), (128, 128, 128))

CueMode = Literal["first", "random"] | None


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
    cue_cell: tuple[int, int] = (0, 3)  # (row, column) of the grid cell reserved for the cue
    cue_size: int = 14
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
        if self.cue_size > self.cell - 4:
            raise SceneConfigError(f"cue_size {self.cue_size} must leave room inside a {self.cell}-px cell")

    @property
    def grid(self) -> int:
        return self.size // self.cell

    def cue_box(self) -> tuple[int, int, int, int]:
        """Pixel box (x0, y0, x1, y1) of the reserved cue cell; x1/y1 exclusive."""
        r, c = self.cue_cell
        return (c * self.cell, r * self.cell, (c + 1) * self.cell, (r + 1) * self.cell)


@dataclass(frozen=True)
class SceneObject:
    colour: str
    shape: str
    centre: tuple[float, float]  # (x, y) in pixels
    size: int  # bounding-box side in pixels
    mask: np.ndarray = field(repr=False)  # bool (H, W)
    drawn_colour: str | None = None  # set only when the object is painted in another colour than named

    @property
    def rendered_colour(self) -> str:
        return self.drawn_colour or self.colour

    @property
    def words(self) -> tuple[str, str]:
        return (self.colour, self.shape)


@dataclass(frozen=True)
class Cue:
    colour: str
    box: tuple[int, int, int, int]  # pixel box of the drawn marker, x1/y1 exclusive
    cell: tuple[int, int]  # (row, column) grid cell


@dataclass(frozen=True)
class Scene:
    """One rendered scene. ``objects`` are in caption order (left to right)."""

    image: Image.Image
    objects: tuple[SceneObject, ...]
    cue: Cue | None
    config: SceneConfig

    @property
    def caption(self) -> str:
        return caption_for(self.objects)


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


def _shape_mask(shape: str, box: tuple[int, int, int, int], size: int) -> np.ndarray:
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    x0, y0, x1, y1 = box
    if shape == "circle":
        draw.ellipse([x0, y0, x1 - 1, y1 - 1], fill=255)
    elif shape == "square":
        draw.rectangle([x0, y0, x1 - 1, y1 - 1], fill=255)
    elif shape == "triangle":
        draw.polygon([((x0 + x1 - 1) / 2, y0), (x0, y1 - 1), (x1 - 1, y1 - 1)], fill=255)
    else:
        raise SceneConfigError(f"unknown shape {shape!r}; known: {SHAPES}")
    return np.asarray(canvas) > 127


def _boxes_clash(a: tuple[int, int, int, int], b: tuple[int, int, int, int], margin: int) -> bool:
    return not (a[2] + margin <= b[0] or b[2] + margin <= a[0] or a[3] + margin <= b[1] or b[3] + margin <= a[1])


def _jitter(rng: np.random.Generator, rgb: tuple[int, int, int], amount: int) -> np.ndarray:
    return np.clip(np.asarray(rgb, dtype=np.float32) + rng.uniform(-amount, amount, size=3), 0, 255)


def _place_boxes(rng: np.random.Generator, cfg: SceneConfig, n: int) -> list[tuple[int, int, int, int]]:
    cue = cfg.cue_box()
    for _ in range(200):
        boxes: list[tuple[int, int, int, int]] = []
        for _ in range(n):
            for _ in range(100):
                s = int(rng.integers(cfg.min_object_size, cfg.max_object_size + 1))
                x0 = int(rng.integers(0, cfg.size - s + 1))
                y0 = int(rng.integers(0, cfg.size - s + 1))
                b = (x0, y0, x0 + s, y0 + s)
                if _boxes_clash(b, cue, 0):
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


def _draw_plus(img: np.ndarray, box: tuple[int, int, int, int], rgb: np.ndarray) -> None:
    x0, y0, x1, y1 = box
    w = x1 - x0
    t = max(2, w // 3)
    a = x0 + (w - t) // 2
    img[y0:y1, a : a + t] = rgb
    b = y0 + (w - t) // 2
    img[b : b + t, x0:x1] = rgb


def make_scene(
    rng: np.random.Generator,
    config: SceneConfig = SceneConfig(),
    cue: CueMode = None,
    n_objects: int | None = None,
    repaint_first: bool = False,
) -> Scene:
    """Render one scene from ``rng``. ``n_objects`` fixes the object count (else uniform in the config range).

    ``repaint_first`` (shortcut training data only): the first-named object is painted in a colour that no
    object is named with, while the caption (and a ``cue="first"`` marker) keep the named colour. The cue
    then predicts the first colour word better than the object itself does: the textbook condition for
    shortcut learning. Without it the rng draws are unchanged, so ordinary scenes stay identical."""
    cfg = config
    if cue not in ("first", "random", None):
        raise SceneConfigError(f"cue must be 'first', 'random' or None, got {cue!r}")
    n = int(rng.integers(cfg.min_objects, cfg.max_objects + 1)) if n_objects is None else n_objects
    if not cfg.min_objects <= n <= cfg.max_objects:
        raise SceneConfigError(f"n_objects={n} outside [{cfg.min_objects}, {cfg.max_objects}]")
    img = _background(rng, cfg.size)
    colours = [COLOUR_WORDS[i] for i in rng.permutation(len(COLOUR_WORDS))[:n]]
    shapes = [SHAPE_WORDS[i] for i in rng.permutation(len(SHAPE_WORDS))[:n]]
    boxes = _place_boxes(rng, cfg, n)
    objects = []
    leftmost = int(np.argmin([(b[0] + b[2]) / 2 for b in boxes]))
    for k, (colour, shape, box) in enumerate(zip(colours, shapes, boxes)):
        mask = _shape_mask(shape, box, cfg.size)
        drawn = None
        if repaint_first and k == leftmost:
            unused = [c for c in COLOUR_WORDS if c not in colours]
            drawn = unused[int(rng.integers(len(unused)))]
        img[mask] = _jitter(rng, COLOURS[drawn or colour], cfg.colour_jitter)
        centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        objects.append(SceneObject(colour, shape, centre, box[2] - box[0], mask, drawn))
    objects.sort(key=lambda o: o.centre[0])

    occupied = np.zeros((cfg.size, cfg.size), dtype=bool)
    for o in objects:
        occupied |= o.mask
    cue_obj = None
    cx0, cy0, cx1, cy1 = cfg.cue_box()
    if cue is not None:
        colour = objects[0].colour if cue == "first" else COLOUR_WORDS[int(rng.integers(len(COLOUR_WORDS)))]
        s = cfg.cue_size
        x0 = cx0 + int(rng.integers(2, cfg.cell - s - 1))
        y0 = cy0 + int(rng.integers(2, cfg.cell - s - 1))
        box = (x0, y0, x0 + s, y0 + s)
        _draw_plus(img, box, _jitter(rng, COLOURS[colour], cfg.colour_jitter))
        cue_obj = Cue(colour, box, cfg.cue_cell)
    occupied[cy0:cy1, cx0:cx1] = True
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
    image = Image.fromarray(np.clip(img, 0, 255).round().astype(np.uint8), mode="RGB")
    return Scene(image=image, objects=tuple(objects), cue=cue_obj, config=cfg)


def scene_stream(seed: int, config: SceneConfig = SceneConfig(), cue: CueMode = None, start: int = 0) -> Iterator[Scene]:
    """Scene ``i`` depends only on (seed, i): reproducible and resumable at any index."""
    i = start
    while True:
        yield make_scene(rng_for(seed, i), config, cue=cue)
        i += 1


def held_out_scenes(n: int, seed: int, config: SceneConfig = SceneConfig(), cue: CueMode = "first") -> list[Scene]:
    """``n`` evaluation scenes. Training draws from different seed streams (see ``train.py``)."""
    return [make_scene(rng_for(seed, i), config, cue=cue) for i in range(n)]


def cell_coverage(mask: np.ndarray, cell: int) -> np.ndarray:
    """Fraction of each grid cell covered by ``mask``: (grid, grid) floats in [0, 1]."""
    g = mask.shape[0] // cell
    return mask.reshape(g, cell, g, cell).mean(axis=(1, 3))
