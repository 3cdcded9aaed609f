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
  without letting it decide the verdict.
- `n_resamples`, `confidence`, `seed`: the probe bootstrap behind every interval.
- `min_probes`: fewer paired probes than this can at best warn, never pass silently.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping

from comparison.errors import ComparisonError


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


@dataclass(frozen=True)
class DriftConfig:
    """Minimum accepted similarity between the two versions' maps on the same probe and word."""

    min_spearman: float = 0.3
    min_top_overlap: float = 0.25
    top_fraction: float = 0.2
    affects_verdict: bool = True

    def __post_init__(self) -> None:
        if not 0.0 < self.top_fraction <= 1.0:
            raise ComparisonError(f"drift.top_fraction must lie in (0, 1], got {self.top_fraction}")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> "DriftConfig":
        _check_keys("drift settings", raw, {f.name for f in fields(cls)})
        values: dict[str, Any] = {}
        for name, value in raw.items():
            if name == "affects_verdict":
                if not isinstance(value, bool):
                    raise ComparisonError(f"drift.affects_verdict must be true or false, got {value!r}")
                values[name] = value
            else:
                values[name] = _number(f"drift.{name}", value)
        return cls(**values)


@dataclass(frozen=True)
class RegressionConfig:
    """Tolerances, drift limits and bootstrap settings of one comparison (see the module note)."""

    tolerances: Mapping[str, float] = field(default_factory=dict)
    default_tolerance: float = 0.05
    drift: DriftConfig = field(default_factory=DriftConfig)
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
            if name == "drift":
                values[name] = DriftConfig.from_mapping(value)
            elif name == "tolerances":
                if not isinstance(value, Mapping):
                    raise ComparisonError(f"tolerances must map metric names to numbers, got {value!r}")
                values[name] = {str(k): _number(f"tolerances.{k}", v) for k, v in value.items()}
            elif name in ("n_resamples", "seed", "min_probes"):
                values[name] = _integer(name, value)
            else:
                values[name] = _number(name, value)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able settings, keys sorted where order carries no meaning."""
        data = asdict(self)
        data["tolerances"] = {k: float(v) for k, v in sorted(self.tolerances.items())}
        return data
