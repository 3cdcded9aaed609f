"""The controls every localisation score is read against, per object word of the answer.

* wrong word: the map of another answer word of the same kind (colour/shape) scored on this word's
  mask (``:wrong_word``), beside this word's own score on the same probes (``:wrong_word_own``);
* chance: the mask's area fraction (energy; ``chance``) and the share of grid cells the mask
  touches (a random cell's pointing hit rate; ``chance_pointing``);
* cue hits: how often a colour/shape word's map peaks on the shortcut cue's cell (``cue_hit``).
The untrained-model control is a second explanation, made in ``scoring.evaluate_probe``.
"""

from __future__ import annotations

import numpy as np

from benchmarks.quality.stats import ProbeStats
from benchmarks.quality.words import word_kind

CONTROLS_NOTE = ("wrong_word: the map of another answer word of the same kind (colour/shape) scored on this word's "
                 "mask (wrong_word_own: this word's own score on the same probes); untrained: a freshly initialised "
                 "copy of the same config, forced to the trained model's answer (also the randomised-weights model "
                 "of the sanity check); chance: the mask's area fraction (energy), chance_pointing: the share of "
                 "grid cells the mask touches (a random cell's pointing hit rate)")


def _cue_cell(probe) -> tuple[int, ...] | None:
    cue = probe.metadata.get("cue") if probe.metadata else None
    if isinstance(cue, dict) and cue.get("cell") is not None:
        return tuple(int(v) for v in cue["cell"])
    return None


def record_controls(stats: ProbeStats, explanation, probe, methods, vocabulary, colours, shapes) -> None:
    """Add the wrong-word control, chance levels and cue hits of every method to ``stats``."""
    from auditors.metrics import ProbeContext
    from auditors.metrics.localisation import energy_in_mask, pointing_chance, pointing_hit, word_iou

    cue_cell = _cue_cell(probe)
    masks = [probe.load_mask(i) for i in range(len(probe.objects))]
    for method in methods:
        ctx = ProbeContext(explanation, probe, method, vocabulary, masks=masks)
        words = ctx.object_words()
        for word in words:
            kind = word_kind(word.label, colours, shapes)
            mask = ctx.categories[word.category].mask
            word_map = ctx.word_map(word)
            cells = pointing_chance(mask, word_map.shape)
            stats.add(f"{method}/chance", float(mask.mean()))
            stats.add(f"{method}/chance_pointing", cells)
            if kind:
                stats.add(f"{method}/chance[{kind}]", float(mask.mean()))
                stats.add(f"{method}/chance_pointing[{kind}]", cells)
            if cue_cell is not None and kind and np.ptp(word_map) > 0:
                peak = np.unravel_index(int(np.argmax(word_map)), word_map.shape)
                stats.add(f"{method}/cue_hit[{kind}]", float(tuple(int(p) for p in peak) == cue_cell))
            others = [o for o in words if o.category != word.category and kind
                      and word_kind(o.label, colours, shapes) == kind]
            if not others:
                continue
            wrong = {"pointing_game": np.mean([pointing_hit(ctx.word_map(o), mask) for o in others]),
                     "energy_in_mask": np.mean([energy_in_mask(ctx.word_map(o), mask) for o in others]),
                     "obj_iou_per_word": np.mean([word_iou(ctx, o.tokens, mask) for o in others])}
            # the same words' own scores, so the comparison is on the same (multi-object) probes
            own = {"pointing_game": float(pointing_hit(word_map, mask)),
                   "energy_in_mask": energy_in_mask(word_map, mask),
                   "obj_iou_per_word": word_iou(ctx, word.tokens, mask)}
            for metric, value in wrong.items():
                stats.add(f"{method}/{metric}:wrong_word", float(value))
                stats.add(f"{method}/{metric}[{kind}]:wrong_word", float(value))
                stats.add(f"{method}/{metric}:wrong_word_own", own[metric])
