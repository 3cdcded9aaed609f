"""Everything a report shows, gathered in one typed object, and how to load it from storage.

Why a dataclass the report builder takes (rather than a repository): the builder stays a pure
function of its input, so tests and benchmarks construct `ReportData` directly from records, and
the flow builds the report from the same records it just stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from reports.verdict import VerdictSummary, worst_verdict
from storage.records import (
    AlertRecord,
    AuditRunRecord,
    ComparisonRecord,
    Direction,
    GenerationRecord,
    MetricRecord,
    ModelVersionRecord,
    ProbeRecord,
    ProbeSetRecord,
    TokenMapRecord,
)

ProbeImage = np.ndarray | Path | str


class ReportDataError(ValueError):
    """The records given to the report are inconsistent (e.g. a baseline without its model)."""


@dataclass(frozen=True)
class HistoryEntry:
    """One past (or the current) audit of the same model name, for the history table."""

    run_id: int
    model_version: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    probe_set: str
    verdict: str | None  # worst stored comparison verdict; None: never compared
    baseline_run_id: int | None = None
    aggregates: tuple[MetricRecord, ...] = ()  # the run's aggregate metrics, for the trend chart


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
        )


@dataclass
class ReportData:
    """The candidate run (and optionally its baseline) with everything the report renders.

    `probe_images` maps probe_key -> image (array HxWx3/HxW, or a path); probes without one are
    looked up as `probe_root / probe.image_path`, and a probe whose image is missing gets a grey
    placeholder plus an entry in `warnings` (the rest of the report is still worth reading).
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
    comparisons: list[ComparisonRecord] = field(default_factory=list)
    verdict: VerdictSummary | None = None
    alerts: list[AlertRecord] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)
    lineage: Lineage | None = None
    probe_images: dict[str, ProbeImage] = field(default_factory=dict)
    probe_root: Path | None = None
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if (self.baseline_run is None) != (self.baseline_model_version is None):
            raise ReportDataError(
                "baseline_run and baseline_model_version must be given together"
            )
        if self.lineage is None:
            self.lineage = Lineage.from_records(
                self.run, self.model_version, self.probe_set, self.baseline_run,
                self.baseline_model_version, n_probes=len(self.probes) or None,
            )
        if self.verdict is None and self.comparisons:
            self.verdict = VerdictSummary.from_comparisons(self.comparisons, self.directions())

    @property
    def has_baseline(self) -> bool:
        return self.baseline_run is not None

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


def _verdict_from_alerts(
    comparisons: list[ComparisonRecord],
    alerts: list[AlertRecord],
    directions: dict[tuple[str, str], Direction],
) -> VerdictSummary | None:
    """Prefer the reasons the regression check wrote into its alert; else phrase comparisons."""
    if not comparisons:
        return None
    reasons = None
    if alerts:
        latest = alerts[-1]
        stored = latest.payload.get("reasons") if isinstance(latest.payload, dict) else None
        if stored:
            reasons = tuple(str(r) for r in stored)
    summary = VerdictSummary.from_comparisons(comparisons, directions, reasons)
    return summary


def load_report_data(
    repo: Any,
    run_id: int,
    baseline_run_id: int | None = None,
    probe_root: Path | str | None = None,
    *,
    verdict: VerdictSummary | None = None,
) -> ReportData:
    """Read one run (and its baseline) from an `AuditRepository`.

    Without `baseline_run_id`, the baseline of the run's latest stored comparison is used, if any.
    Images are read from `probe_root`, else from the folder the probe set was registered from.
    `verdict` (e.g. `RegressionVerdict.summary()` from the flow that just compared the runs)
    replaces the one rebuilt from stored comparisons, and brings per-probe notes along.
    """
    run = repo.get_run(run_id)
    model = repo.get_model_version(run.model_version_id)
    probe_set = repo.get_probe_set(run.probe_set_id)
    probes = list(repo.list_probes(run.probe_set_id))
    all_comparisons = list(repo.get_comparisons(run_id))
    if baseline_run_id is None and all_comparisons:
        latest = max(
            all_comparisons,
            key=lambda c: (getattr(c, "created_at", None) or datetime.min.replace(tzinfo=timezone.utc),
                           c.id or 0),
        )
        baseline_run_id = latest.baseline_run_id
    comparisons = [c for c in all_comparisons if c.baseline_run_id == baseline_run_id]

    baseline_run = baseline_model = None
    baseline_generations: list[GenerationRecord] = []
    baseline_maps: list[TokenMapRecord] = []
    baseline_metrics: list[MetricRecord] = []
    if baseline_run_id is not None:
        baseline_run = repo.get_run(baseline_run_id)
        baseline_model = repo.get_model_version(baseline_run.model_version_id)
        baseline_generations = list(repo.get_generations(baseline_run_id))
        baseline_maps = list(repo.get_maps(baseline_run_id))
        baseline_metrics = list(repo.get_metrics(baseline_run_id))

    metrics = list(repo.get_metrics(run_id))
    alerts = list(repo.get_alerts(run_id))
    directions = {(m.method, m.metric): m.direction for m in [*metrics, *baseline_metrics]}
    history = _history(repo, model.name)
    root = Path(probe_root) if probe_root is not None else (
        Path(probe_set.root) if probe_set.root else None
    )
    return ReportData(
        run=run,
        model_version=model,
        probe_set=probe_set,
        probes=probes,
        generations=list(repo.get_generations(run_id)),
        maps=list(repo.get_maps(run_id)),
        metrics=metrics,
        baseline_run=baseline_run,
        baseline_model_version=baseline_model,
        baseline_generations=baseline_generations,
        baseline_maps=baseline_maps,
        baseline_metrics=baseline_metrics,
        comparisons=comparisons,
        verdict=verdict or _verdict_from_alerts(comparisons, alerts, directions),
        alerts=alerts,
        history=history,
        probe_root=root,
    )


def _history(repo: Any, model_name: str) -> list[HistoryEntry]:
    entries: list[HistoryEntry] = []
    versions: dict[int, str] = {}
    probe_sets: dict[int, str] = {}
    for past in repo.list_runs(model_name=model_name):
        if past.model_version_id not in versions:
            versions[past.model_version_id] = repo.get_model_version(past.model_version_id).version
        if past.probe_set_id not in probe_sets:
            ps = repo.get_probe_set(past.probe_set_id)
            probe_sets[past.probe_set_id] = f"{ps.name}@{ps.version}"
        comparisons = list(repo.get_comparisons(past.id))
        entries.append(
            HistoryEntry(
                run_id=past.id,
                model_version=versions[past.model_version_id],
                status=past.status,
                started_at=past.started_at,
                finished_at=past.finished_at,
                probe_set=probe_sets[past.probe_set_id],
                verdict=worst_verdict([c.verdict for c in comparisons]) if comparisons else None,
                baseline_run_id=comparisons[-1].baseline_run_id if comparisons else None,
                aggregates=tuple(repo.get_metrics(past.id, aggregate_only=True)),
            )
        )
    entries.sort(key=lambda e: (e.started_at or datetime.min.replace(tzinfo=timezone.utc), e.run_id))
    return entries
