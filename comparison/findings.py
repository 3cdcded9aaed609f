"""What a comparison found beyond its checks, stored with the verdict for the report to show.

Why stored and not recomputed by the report: the report renders from the database alone and must
show what the audit saw, and these need the probe set's masks and cues (`comparison.layout`), which
only the flow has when it judges. Each is small: grids of at most a few hundred numbers.

- `LocusFinding`: where one version's off-object peaks gather (the fixed-locus check's evidence),
  per region of the image: observed rate, the rate the maps' spread predicts, and the excess;
- `AttentionShift`: the mean change of a word class's maps (candidate minus baseline, each map as a
  distribution over the image), per cell, with its standard error;
- `CounterfactualSummary`: on probes carrying a cue (present, absent, conflicting), which word the
  answer names and where that word's maps peak.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping

Grid = tuple[tuple[float, ...], ...]


def grid(values: Any) -> Grid:
    """A 2-D array as nested tuples of floats (JSON-able, hashable, comparable)."""
    return tuple(tuple(float(v) for v in row) for row in values)


class _Stored:
    """`from_dict`, the inverse of `dataclasses.asdict` for these flat findings (lists back to tuples)."""

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Any:
        values = {}
        for f in fields(cls):  # type: ignore[arg-type]
            if f.name in raw:
                value = raw[f.name]
                if isinstance(value, list):
                    value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
                values[f.name] = value
        return cls(**values)


@dataclass(frozen=True)
class LocusFinding(_Stored):
    """One version's off-object peaks of one word group by one method, per image region.

    `observed[r][c]`: share of the group's maps whose peak lies in region (r, c) on a cell holding
    no object; `expected`: their mass share on such cells (the null); `excess` = observed - expected.
    `region` is the flagged (or most excessive) region, `region_box` its extent as fractions of the
    image (x0, y0, x1, y1).
    """

    side: str  # "candidate" or "baseline"
    method: str
    group: str
    n_maps: int
    n_probes: int
    observed: Grid
    expected: Grid
    excess: Grid
    region: tuple[int, int]
    region_box: tuple[float, float, float, float]
    verdict: str



@dataclass(frozen=True)
class AttentionShift(_Stored):
    """Mean (candidate - baseline) of the paired maps of a word group, each map scaled to unit mass,
    per cell of a common grid (image coordinates), with each cell's standard error over probes."""

    method: str
    group: str
    n_words: int
    n_probes: int
    mean: Grid
    se: Grid



@dataclass(frozen=True)
class CuePeaks(_Stored):
    """Where the maps of the cued word peak: on the cue, on an object, elsewhere (shares of maps)."""

    method: str
    n_maps: int
    on_cue: float
    on_object: float
    elsewhere: float



@dataclass(frozen=True)
class CounterfactualSummary(_Stored):
    """One version on the probes of one cue kind and mode: shares of answers whose cued word is the
    object's word, the cue's word, or something else, and where that word's maps peak per method."""

    side: str
    mode: str
    n_probes: int
    names_object: float
    names_cue: float
    names_other: float
    peaks: tuple[CuePeaks, ...] = ()
    kind: str = ""  # the cue kind ("corner", "bar", ...): a shortcut reads one kind of cue

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "CounterfactualSummary":
        peaks = tuple(CuePeaks.from_dict(p) for p in raw.get("peaks", ()))
        return super().from_dict({**{k: v for k, v in raw.items() if k != "peaks"}, "peaks": peaks})
