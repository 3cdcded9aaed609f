"""Does the model name what it looks at? A summary of counterfactual probes, per version, cue kind
and mode.

A counterfactual probe carries a cue (`comparison.layout.CueLayout`): something that is not an
object but carries a word of a class (a marker in an object's colour, a glyph of a shape), drawn
with the word of the object it stands for (present), not drawn (absent), or with another word of
its class (conflicting). The cue stands for the first word of its class in the reference answer
(the demo's cues carry the first-named object's word). Per version, cue kind and mode:

* which word the answer gives for it: its first word of the cue's class is the object's word, the
  cue's word (conflicting probes: the model read the cue), or another word or none;
* where that word's map peaks, per method: on the cue's cells, on an object, elsewhere.

It is descriptive (the report shows it); the verdict's answer checks already fail a version that
names the cue's word where the baseline named the object's.
"""

from __future__ import annotations

from collections import defaultdict

from comparison.drift import run_answers
from comparison.findings import CounterfactualSummary, CuePeaks
from comparison.groups import SLOT
from comparison.inputs import RunResults
from comparison.layout import ProbeLayout, ProbeSetLayout
from comparison.wordmaps import WordMap, peak_cell, run_word_maps
from comparison.words import normalize_word

MODES_ORDER = ("present", "absent", "conflicting")


def reference_word(probe: ProbeLayout, word_class: str, layout: ProbeSetLayout) -> str | None:
    """The first word of `word_class` in the probe's reference answer (else in its objects' words)."""
    words = ([normalize_word(w) for w in probe.caption.split()] if probe.caption
             else [w for obj in probe.objects for w in obj.words])
    return next((w for w in words if layout.class_of(w) == word_class), None)


def cue_class(probe: ProbeLayout, layout: ProbeSetLayout) -> str | None:
    """The class of the word the probe's cue carries: as recorded, else the class of its word."""
    if probe.cue is None:
        return None
    return probe.cue.carries or (layout.class_of(probe.cue.word) if probe.cue.word else None)


def _where(probe: ProbeLayout, grid, layout: ProbeSetLayout) -> str:
    peak = peak_cell(grid)
    if peak is None:
        return "elsewhere"
    if probe.cue is not None and probe.cue.cells(grid.shape)[peak]:
        return "on_cue"
    held = layout.held_cells(probe.probe_key, grid.shape)
    return "on_object" if held is not None and held[peak] else "elsewhere"


def counterfactual_summary(run: RunResults, layout: ProbeSetLayout, side: str,
                           word_maps: list[WordMap] | None = None) -> list[CounterfactualSummary]:
    """One summary per cue mode present in the layout (none when no probe carries a cue;
    `word_maps`: the run's `run_word_maps`, when the caller has them already)."""
    cued = {k: p for k, p in layout.probes.items() if p.cue is not None and cue_class(p, layout)}
    if not cued:
        return []
    words, _, _ = run_answers(run)
    named: dict[tuple[str, str], list[str]] = defaultdict(list)  # (kind, mode) -> what each answer named
    for probe_key, probe in cued.items():
        if probe_key not in words:
            continue
        cue, word_class = probe.cue, cue_class(probe, layout)
        assert cue is not None and word_class is not None
        reference = reference_word(probe, word_class, layout)
        answer = next((w for _, w in sorted(words[probe_key].items()) if layout.class_of(w) == word_class), None)
        key = (cue.kind, cue.mode)
        if answer is not None and answer == reference:
            named[key].append("object")
        elif answer is not None and answer == cue.word:
            named[key].append("cue")
        else:
            named[key].append("other")
    peaks: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for wm in run_word_maps(run, layout) if word_maps is None else word_maps:
        probe = cued.get(wm.probe_key)
        if probe is not None and wm.slot == f"{cue_class(probe, layout)}{SLOT}1":
            peaks[(probe.cue.kind, probe.cue.mode, wm.method)].append(_where(probe, wm.map, layout))  # type: ignore[union-attr]
    out = []
    for kind, mode in sorted(named, key=lambda km: (km[0], MODES_ORDER.index(km[1]) if km[1] in MODES_ORDER else 99)):
        answers = named[(kind, mode)]
        method_peaks = tuple(
            CuePeaks(method, len(where), where.count("on_cue") / len(where), where.count("on_object") / len(where),
                     where.count("elsewhere") / len(where))
            for (k, m, method), where in sorted(peaks.items()) if (k, m) == (kind, mode) and where)
        out.append(CounterfactualSummary(side, mode, len(answers), answers.count("object") / len(answers),
                                         answers.count("cue") / len(answers), answers.count("other") / len(answers),
                                         method_peaks, kind))
    return out
