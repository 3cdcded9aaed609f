"""Synthetic audited runs with a known pattern, on a 4x4 grid, with their probe-set layout.

Each probe holds two objects ("<colour> <shape>", colours and shapes drawn per probe) in random
cells, never in the top-right cell (0, 3), which plays the shortcut's cue cell. The answer names
both objects in order ("a red circle and a blue square"), one token per word. Map patterns:
- "honest": each object word's map peaks on its own object (plus noise);
- "shortcut": the answer's first colour word's map peaks on the cue cell (0, 3) instead, every probe;
- "diffuse": every word's map is noise (no object, no place preferred).
"""

from __future__ import annotations

import numpy as np

from comparison import RunResults
from comparison.layout import FOOTPRINT_SIDE, CueLayout, ObjectLayout, ProbeLayout, ProbeSetLayout
from tests.comparison.records import Map, Metric, answer

COLOURS = ("red", "green", "blue", "yellow")
SHAPES = ("circle", "square", "triangle")
CLASSES = {**{c: "colour" for c in COLOURS}, **{s: "shape" for s in SHAPES}}
CUE_CELL = (0, 3)
FREE_CELLS = [(r, c) for r in range(4) for c in range(4) if (r, c) != CUE_CELL]


def cell_footprint(cell: tuple[int, int]) -> np.ndarray:
    side = FOOTPRINT_SIDE // 4
    footprint = np.zeros((FOOTPRINT_SIDE, FOOTPRINT_SIDE), np.float32)
    footprint[cell[0] * side:(cell[0] + 1) * side, cell[1] * side:(cell[1] + 1) * side] = 1.0
    return footprint


def probe_plan(n_probes: int, seed: int = 0) -> list[dict]:
    """Per probe: the two objects' words and cells, and the caption."""
    rng = np.random.default_rng(seed)
    plans = []
    for i in range(n_probes):
        cells = [FREE_CELLS[j] for j in rng.choice(len(FREE_CELLS), 2, replace=False)]
        colours = [COLOURS[j] for j in rng.choice(4, 2, replace=False)]
        shapes = [SHAPES[j] for j in rng.choice(3, 2, replace=False)]
        objects = [((colours[k], shapes[k]), cells[k]) for k in range(2)]
        caption = " and ".join(f"a {c} {s}" for (c, s), _ in objects)
        plans.append({"key": f"p{i:03d}", "objects": objects, "caption": caption})
    return plans


def layout(plans: list[dict], cue_mode: str | None = None) -> ProbeSetLayout:
    probes = {}
    for plan in plans:
        cue = None
        if cue_mode is not None:
            first = plan["objects"][0][0][0]
            word = first if cue_mode == "present" else next(c for c in COLOURS if c != first)
            cue = CueLayout("corner", cue_mode, word, "colour", cell_footprint(CUE_CELL))
        probes[plan["key"]] = ProbeLayout(
            plan["key"], tuple(ObjectLayout(words, cell_footprint(cell)) for words, cell in plan["objects"]),
            plan["caption"], cue)
    return ProbeSetLayout(probes, CLASSES, ordered_objects=True)


def peaked(cell: tuple[int, int], rng: np.random.Generator, height: float = 1.0) -> np.ndarray:
    grid = rng.uniform(0.0, 0.3, size=(4, 4))
    grid[cell] += height
    return grid


def run(run_id: int, plans: list[dict], pattern: str, seed: int, answers: dict[str, tuple[str, ...]] | None = None,
        metrics: list[Metric] | None = None) -> RunResults:
    """A run whose maps follow `pattern` (see the module note); `answers` overrides answer words."""
    rng = np.random.default_rng(seed)
    generations, maps = [], []
    for plan in plans:
        words = answers.get(plan["key"]) if answers else None
        words = words or tuple(plan["caption"].split())
        gen = answer(plan["key"], words)
        generations.append(gen)
        cells = {w: cell for pair, cell in plan["objects"] for w in pair}
        first_colour = next((t for t, w in enumerate(words) if w in COLOURS), None)  # the answer's first
        for t, word in enumerate(words):
            if pattern == "shortcut" and t == first_colour:
                grid = peaked(CUE_CELL, rng)
            elif pattern == "diffuse" or word not in cells:
                grid = rng.uniform(0.0, 1.0, size=(4, 4))
            else:
                grid = peaked(cells[word], rng)
            maps.append(Map(plan["key"], t, gen.tokens[t], t, "tam", grid))
    return RunResults(run_id, metrics or [], maps, generations)


def slot_metrics(plans: list[dict], metric: str, value_of) -> list[Metric]:
    """Per probe and answer slot ("colour@1", ...): `value_of(plan, slot)`, plus the probe mean."""
    out = []
    for plan in plans:
        values = {f"{kind}@{k + 1}": value_of(plan, f"{kind}@{k + 1}")
                  for kind in ("colour", "shape") for k in range(2)}
        out += [Metric("answer", metric, v, "higher_is_better", plan["key"], slot) for slot, v in values.items()]
        out.append(Metric("answer", metric, float(np.mean(list(values.values()))), "higher_is_better", plan["key"]))
    return out
