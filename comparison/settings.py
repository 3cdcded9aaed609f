"""How strict a comparison is: its settings, kept apart from the calculation.

Why apart (as Evidently keeps a metric's configuration apart from its computation): the same
settings come from a config file's `[regression]` table or a flow parameter, are stored whole with
every verdict (so a verdict says what produced it) and identify it (the same pair of runs judged
with the same settings is the same verdict). `to_dict` and `from_mapping` are each other's inverse.

Meaning of the numbers:
- `tolerances` / `default_tolerance`: how much worse a metric's mean paired delta may be before it
  counts as a regression (in the metric's own units).
- `drift`: the least similarity the two versions' maps of the same word must keep (Spearman rank
  correlation, overlap of the top `top_fraction` cells); `affects_verdict` false reports drift
  without letting it decide the verdict; `alone` is what drift may do when no quality check
  regressed ("warn": maps that moved are different, not worse; "fail": drift alone fails).
- `groups`: the per-word-class checks (`comparison.grouped`): which metrics, how many paired probes
  a group needs, whether single words are groups too.
- `locus`: the fixed-locus check (`comparison.locus`): the excess of off-object peaks in one region
  over the rate the maps' spread predicts that counts as fixed, the coarsest region grid.
- `n_resamples`, `confidence`, `seed`: the probe bootstrap behind every interval.
- `min_probes`: fewer paired probes than this can at best warn, never pass silently.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, Mapping

from comparison.errors import ComparisonError
from comparison.maps import TOP_FRACTION

# Explanation-metric tolerances calibrated on honest clean retrains (`python -m benchmarks.validity`,
# `benchmarks/results/validity-cycles0.json`, "calibration"): the upper 97.5 % prediction bound of a new
# honest pair's change, from three clean demo models (seeds 1, 4, 1234) judged against each other both
# ways on two probe sets. Honest retrains differ by up to 0.1 in the pointing game by chance in training,
# which a probe-bootstrap interval does not see; a metric missing here uses `default_tolerance`
# (answers keep 0.05: naming objects less often is worse, whatever the seed). A `[regression.tolerances]`
# table in a config file overrides these metric by metric.
CALIBRATED_TOLERANCES: dict[str, float] = {
    "energy_in_mask": 0.06, "f1_iou": 0.14, "func_iou": 0.30, "obj_iou": 0.13, "obj_precision": 0.15,
    "obj_recall": 0.14, "peak_off_object": 0.17, "pointing_game": 0.18,
}


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ComparisonError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _integer(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ComparisonError(f"{name} must be an integer, got {value!r}")
    return value


def _check_keys(what: str, raw: Mapping[str, Any], known: set[str]) -> None:
    if not isinstance(raw, Mapping):
        raise ComparisonError(f"{what} must be a table of settings, got {type(raw).__name__}")
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ComparisonError(f"unknown {what}: {', '.join(map(str, unknown))} "
                              f"(known: {', '.join(sorted(known))})")


def _typed(table: str, name: str, default: Any, value: Any) -> Any:
    """`value` checked against the type of the setting's default."""
    where = f"{table}.{name}"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ComparisonError(f"{where} must be true or false, got {value!r}")
        return value
    if isinstance(default, int):
        return _integer(where, value)
    if isinstance(default, float):
        return _number(where, value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ComparisonError(f"{where} must be text, got {value!r}")
        return value
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ComparisonError(f"{where} must be a list of names, got {value!r}")
    return tuple(value)


def _table(cls: type, table: str, raw: Mapping[str, Any]) -> Any:
    """A settings table (`cls`, a dataclass of plain values) from a mapping; unknown keys are errors."""
    _check_keys(f"{table} settings", raw, {f.name for f in fields(cls)})
    defaults = cls()
    return cls(**{name: _typed(table, name, getattr(defaults, name), value) for name, value in raw.items()})


class _Table:
    """`from_mapping` for a settings table named `TABLE` (`_table`: typed values, no unknown keys)."""

    TABLE: ClassVar[str]

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> Any:
        return _table(cls, cls.TABLE, raw)


@dataclass(frozen=True)
class DriftConfig(_Table):
    """Minimum accepted similarity between the two versions' maps on the same probe and word, and
    what map drift may decide on its own (`alone`)."""

    TABLE: ClassVar[str] = "drift"
    min_spearman: float = 0.10  # honest demo retrains keep 0.15-0.27 (validity calibration); alone it only warns
    min_top_overlap: float = 0.25
    top_fraction: float = TOP_FRACTION
    affects_verdict: bool = True
    alone: str = "warn"

    def __post_init__(self) -> None:
        if not 0.0 < self.top_fraction <= 1.0:
            raise ComparisonError(f"drift.top_fraction must lie in (0, 1], got {self.top_fraction}")
        if self.alone not in ("warn", "fail"):
            raise ComparisonError(f"drift.alone must be 'warn' or 'fail', got {self.alone!r}")



@dataclass(frozen=True)
class GroupConfig(_Table):
    """Per-word-class checks: `metrics` compared per class, per class slot ("the first colour word")
    and, with `words`, per single word; a group needs `min_probes` paired probes. Only the groups of
    the `counted` metrics decide the verdict; the others say which words a failing check is about."""

    TABLE: ClassVar[str] = "groups"
    metrics: tuple[str, ...] = ("pointing_game", "peak_off_object", "answer_recall", "answer_precision")
    counted: tuple[str, ...] = ("answer_recall", "answer_precision")
    min_probes: int = 20
    words: bool = True
    affects_verdict: bool = True

    def __post_init__(self) -> None:
        if self.min_probes < 2:
            raise ComparisonError(f"groups.min_probes must be at least 2, got {self.min_probes}")



@dataclass(frozen=True)
class LocusConfig(_Table):
    """The fixed-locus check: fail when off-object peaks in one region exceed the rate the maps'
    spread predicts by more than `min_excess` (lower CI bound), on a region grid of at most
    `max_region_side` regions a side; a word group needs `min_probes` probes."""

    TABLE: ClassVar[str] = "locus"
    min_excess: float = 0.15  # honest demo models show up to 0.12 (validity calibration)
    max_region_side: int = 8
    min_probes: int = 20
    affects_verdict: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_excess < 1.0:
            raise ComparisonError(f"locus.min_excess must lie in [0, 1), got {self.min_excess}")
        if self.max_region_side < 1 or self.min_probes < 2:
            raise ComparisonError("locus.max_region_side must be positive and locus.min_probes at least 2")



@dataclass(frozen=True)
class RegressionConfig:
    """Tolerances, drift limits and bootstrap settings of one comparison (see the module note)."""

    tolerances: Mapping[str, float] = field(default_factory=lambda: dict(CALIBRATED_TOLERANCES))
    default_tolerance: float = 0.05
    drift: DriftConfig = field(default_factory=DriftConfig)
    groups: GroupConfig = field(default_factory=GroupConfig)
    locus: LocusConfig = field(default_factory=LocusConfig)
    n_resamples: int = 2000
    confidence: float = 0.95
    seed: int = 0
    min_probes: int = 3

    def __post_init__(self) -> None:
        if self.default_tolerance < 0 or any(t < 0 for t in self.tolerances.values()):
            raise ComparisonError("tolerances must be non-negative")
        if not 0.0 < self.confidence < 1.0:
            raise ComparisonError(f"confidence must lie strictly between 0 and 1, got {self.confidence}")
        if self.n_resamples < 1:
            raise ComparisonError(f"n_resamples must be positive, got {self.n_resamples}")
        if self.min_probes < 1:
            raise ComparisonError(f"min_probes must be at least 1, got {self.min_probes}")

    def tolerance_for(self, metric: str) -> float:
        return float(self.tolerances.get(metric, self.default_tolerance))

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> "RegressionConfig":
        """From a config file's `[regression]` table (or `to_dict`); unknown keys are an error."""
        _check_keys("regression settings", raw, {f.name for f in fields(cls)})
        values: dict[str, Any] = {}
        for name, value in raw.items():
            if name in _TABLES:
                values[name] = _TABLES[name].from_mapping(value)
            elif name == "tolerances":
                if not isinstance(value, Mapping):
                    raise ComparisonError(f"tolerances must map metric names to numbers, got {value!r}")
                values[name] = {str(k): _number(f"tolerances.{k}", v) for k, v in value.items()}
            elif name in ("n_resamples", "seed", "min_probes"):
                values[name] = _integer(name, value)
            else:
                values[name] = _number(name, value)
        return cls(**values)

    @classmethod
    def from_user_table(cls, raw: Mapping[str, Any]) -> "RegressionConfig":
        """From a user's `[regression]` table: its `tolerances` override the calibrated ones metric by
        metric (a table naming one metric keeps the others calibrated); otherwise as `from_mapping`."""
        table = dict(raw)
        if isinstance(table.get("tolerances"), Mapping):
            table["tolerances"] = {**CALIBRATED_TOLERANCES, **table["tolerances"]}
        return cls.from_mapping(table)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able settings, keys sorted where order carries no meaning."""
        data = asdict(self)
        data["groups"]["metrics"] = list(self.groups.metrics)
        data["groups"]["counted"] = list(self.groups.counted)
        data["tolerances"] = {k: float(v) for k, v in sorted(self.tolerances.items())}
        return data


_TABLES: dict[str, Any] = {"drift": DriftConfig, "groups": GroupConfig, "locus": LocusConfig}
