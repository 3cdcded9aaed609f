"""Everything a report shows, gathered in one typed object.

Why a dataclass the report builder takes (rather than a repository): the builder stays a pure
function of its input, so tests and benchmarks construct `ReportData` directly from records, and
the flow builds the report from the very records it compared (`reports.load`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from comparison import ComparisonResult, MetricComparison
from storage.records import (
    AlertRecord,
    AuditRunRecord,
    Direction,
    GenerationRecord,
    MetricRecord,
    ModelVersionRecord,
    ProbeRecord,
    ProbeSetRecord,
    TokenMapRecord,
)

ProbeImage = np.ndarray | Path | str


EPOCH = datetime.min.replace(tzinfo=timezone.utc)


def version_sort_key(version: str) -> tuple[tuple[int, int, str], ...]:
    """Registry versions in their natural order: digit runs compare as numbers ("2" before "10",
    "v1.2" before "v1.10"), other text as text, so a history reads v1, v2, ... whatever order the
    versions were audited in."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.split(r"(\d+)", version) if part)


class ReportDataError(ValueError):
    """The records given to the report are inconsistent (e.g. a baseline without its model)."""


class ReportInputError(ReportDataError):
    """The runs asked for cannot be shown together (a baseline on another probe set, or the run
    itself): the caller's input, which the command line answers with exit code 2."""


@dataclass(frozen=True)
class HistoryEntry:
    """One past (or the current) audit of the same model name, for the history table."""

    run_id: int
    model_version: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    probe_set: str
    verdict: str | None  # the run's latest stored verdict; None: never judged
    baseline_run_id: int | None = None  # the baseline that verdict was judged against
    aggregates: tuple[MetricRecord, ...] = ()  # the run's aggregate metrics, for the trend chart
    aliases: tuple[str, ...] = ()  # the version's aliases as the registry reported them at its latest audit


@dataclass(frozen=True)
class Lineage:
    """What a compliance reviewer needs to reproduce the audit."""

    model_name: str
    model_version: str
    model_source_uri: str
    model_mlflow_run_id: str | None
    weights_hash: str
    architecture: str
    audit_run_id: int | None
    config_hash: str
    config: dict[str, Any]
    code_version: str
    package_versions: dict[str, str]
    run_started_at: datetime | None
    run_finished_at: datetime | None
    timings: dict[str, float]
    probe_set_name: str
    probe_set_version: str
    probe_set_hash: str
    n_probes: int
    baseline_model_version: str | None = None
    baseline_weights_hash: str | None = None
    baseline_run_id: int | None = None
    baseline_config_hash: str | None = None
    comparison_settings: dict[str, Any] | None = None  # the settings the verdict was judged with
    report_generated_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @classmethod
    def from_records(
        cls,
        run: AuditRunRecord,
        model: ModelVersionRecord,
        probe_set: ProbeSetRecord,
        baseline_run: AuditRunRecord | None = None,
        baseline_model: ModelVersionRecord | None = None,
        n_probes: int | None = None,
        comparison_settings: dict[str, Any] | None = None,
    ) -> "Lineage":
        return cls(
            model_name=model.name,
            model_version=model.version,
            model_source_uri=model.source_uri,
            model_mlflow_run_id=model.run_id,
            weights_hash=model.weights_hash,
            architecture=model.architecture,
            audit_run_id=run.id,
            config_hash=run.config_hash,
            config=dict(run.config),
            code_version=run.code_version,
            package_versions=dict(run.package_versions),
            run_started_at=run.started_at,
            run_finished_at=run.finished_at,
            timings=dict(run.timings),
            probe_set_name=probe_set.name,
            probe_set_version=probe_set.version,
            probe_set_hash=probe_set.content_hash,
            n_probes=probe_set.n_probes if n_probes is None else n_probes,
            baseline_model_version=baseline_model.version if baseline_model else None,
            baseline_weights_hash=baseline_model.weights_hash if baseline_model else None,
            baseline_run_id=baseline_run.id if baseline_run else None,
            baseline_config_hash=baseline_run.config_hash if baseline_run else None,
            comparison_settings=comparison_settings,
        )


@dataclass
class ReportData:
    """The candidate run (and optionally its baseline) with everything the report renders.

    `verdict` is the stored judgement of this run against this baseline (never recomputed here).
    Probe images: a probe's stored thumbnail (`ProbeRecord.thumbnail`), else `probe_images[key]`
    (an array or a path), else `probe_root / probe.image_path`; a probe whose image cannot be read
    gets a grey placeholder plus an entry in `warnings` (the rest of the report is still worth reading).
    """

    run: AuditRunRecord
    model_version: ModelVersionRecord
    probe_set: ProbeSetRecord
    probes: list[ProbeRecord]
    generations: list[GenerationRecord]
    maps: list[TokenMapRecord]
    metrics: list[MetricRecord]
    baseline_run: AuditRunRecord | None = None
    baseline_model_version: ModelVersionRecord | None = None
    baseline_generations: list[GenerationRecord] = field(default_factory=list)
    baseline_maps: list[TokenMapRecord] = field(default_factory=list)
    baseline_metrics: list[MetricRecord] = field(default_factory=list)
    verdict: ComparisonResult | None = None
    alerts: list[AlertRecord] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)
    lineage: Lineage | None = None
    probe_images: dict[str, ProbeImage] = field(default_factory=dict)
    probe_root: Path | None = None
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # the history table and chart read versions in order (v1 before v2), not in audit order
        self.history = sorted(self.history, key=lambda h: (version_sort_key(h.model_version),
                                                           h.started_at or EPOCH, h.run_id))
        if (self.baseline_run is None) != (self.baseline_model_version is None):
            raise ReportDataError("baseline_run and baseline_model_version must be given together")
        if self.verdict is not None and self.baseline_run is not None and (
                (self.verdict.candidate_run_id, self.verdict.baseline_run_id) != (self.run.id, self.baseline_run.id)):
            raise ReportDataError(
                f"the verdict judges run {self.verdict.candidate_run_id} against run {self.verdict.baseline_run_id}, "
                f"not run {self.run.id} against run {self.baseline_run.id}")
        if self.lineage is None:
            self.lineage = Lineage.from_records(
                self.run, self.model_version, self.probe_set, self.baseline_run, self.baseline_model_version,
                n_probes=len(self.probes) or None,
                comparison_settings=dict(self.verdict.settings) if self.verdict else None,
            )

    @property
    def has_baseline(self) -> bool:
        return self.baseline_run is not None

    @property
    def confidence_label(self) -> str:
        """The verdict's interval confidence as written in the report ("95%", the default without one)."""
        return self.verdict.confidence_label if self.verdict else "95%"

    @property
    def comparisons(self) -> tuple[MetricComparison, ...]:
        """The verdict's checks (none without a stored verdict)."""
        return tuple(self.verdict.comparisons) if self.verdict else ()

    def directions(self) -> dict[tuple[str, str], Direction]:
        out: dict[tuple[str, str], Direction] = {}
        for m in [*self.metrics, *self.baseline_metrics]:
            out[(m.method, m.metric)] = m.direction
        return out

    def methods(self) -> list[str]:
        """Methods with maps, in first-seen order (the gallery's rows)."""
        seen: dict[str, None] = {}
        for m in [*self.maps, *self.baseline_maps]:
            seen.setdefault(m.method, None)
        return list(seen)
