"""Gather a report's data from an `AuditRepository`: runs, the stored verdict, history, lineage.

Why the verdict is read, never recomputed: the report of a run rendered today must show the
judgement the audit returned, under the settings it was made with (`VerdictRecord`), not one
rebuilt from comparison rows under today's rules. A run's report shows the verdict against the
baseline it names; without one named, the run's latest verdict and its baseline.

`runs` lets the flow hand over the records it already read for the comparison, so no map is
decoded twice.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from comparison import ComparisonResult, RunResults
from reports.data import HistoryEntry, ReportData

_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


def read_run(repo: Any, run_id: int) -> RunResults:
    """One run's metric values (aggregates included), maps and answers, read once."""
    return RunResults(run_id, metrics=list(repo.get_metrics(run_id)), maps=list(repo.get_maps(run_id)),
                      generations=list(repo.get_generations(run_id)))


def stored_verdict(repo: Any, run_id: int, baseline_run_id: int | None = None) -> ComparisonResult | None:
    """The latest verdict stored for the run (against `baseline_run_id` when given), as it was made."""
    record = repo.latest_verdict(run_id, baseline_run_id)
    return ComparisonResult.from_dict(record.result) if record is not None else None


def load_report_data(
    repo: Any,
    run_id: int,
    baseline_run_id: int | None = None,
    probe_root: Path | str | None = None,
    *,
    runs: Mapping[int, RunResults] | None = None,
    verdict: ComparisonResult | None = None,
) -> ReportData:
    """Read one run (and its baseline) with its stored verdict, alerts, history and lineage.

    `verdict`: the verdict to show, as the flow just stored or found it (default: the latest stored
    for this run and baseline); `runs`: records already read, by run id.
    """
    warnings: list[str] = []
    if verdict is None:
        verdict = stored_verdict(repo, run_id, baseline_run_id)
    if baseline_run_id is None and verdict is not None:
        baseline_run_id = verdict.baseline_run_id
    elif baseline_run_id is None:
        baseline_run_id = _baseline_of_unjudged_comparisons(repo, run_id, warnings)

    runs = dict(runs or {})
    for needed in (run_id, baseline_run_id):
        if needed is not None and needed not in runs:
            runs[needed] = read_run(repo, needed)
    run = repo.get_run(run_id)
    model = repo.get_model_version(run.model_version_id)
    probe_set = repo.get_probe_set(run.probe_set_id)
    baseline_run = repo.get_run(baseline_run_id) if baseline_run_id is not None else None
    baseline = runs.get(baseline_run_id) if baseline_run_id is not None else None
    root = Path(probe_root) if probe_root is not None else (Path(probe_set.root) if probe_set.root else None)
    return ReportData(
        run=run,
        model_version=model,
        probe_set=probe_set,
        probes=list(repo.list_probes(run.probe_set_id)),
        generations=list(runs[run_id].generations),
        maps=list(runs[run_id].maps),
        metrics=list(runs[run_id].metrics),
        baseline_run=baseline_run,
        baseline_model_version=repo.get_model_version(baseline_run.model_version_id) if baseline_run else None,
        baseline_generations=list(baseline.generations) if baseline else [],
        baseline_maps=list(baseline.maps) if baseline else [],
        baseline_metrics=list(baseline.metrics) if baseline else [],
        verdict=verdict,
        alerts=list(repo.get_alerts(run_id)),
        history=history(repo, model.name, runs),
        probe_root=root,
        warnings=warnings,
    )


def _baseline_of_unjudged_comparisons(repo: Any, run_id: int, warnings: list[str]) -> int | None:
    """Databases from before verdicts were stored hold comparison rows only: show that baseline
    side by side, without a verdict, and say so."""
    comparisons = list(repo.get_comparisons(run_id))
    if not comparisons:
        return None
    latest = max(comparisons, key=lambda c: (c.created_at or _EPOCH, c.id or 0))
    warnings.append(f"run {run_id} was compared with run {latest.baseline_run_id} before verdicts were stored: "
                    "no verdict is shown (rerun the audit to record one)")
    return latest.baseline_run_id


def history(repo: Any, model_name: str, runs: Mapping[int, RunResults] | None = None) -> list[HistoryEntry]:
    """Every audit of the model name, oldest first, each with its latest stored verdict (`runs`:
    records already read, whose aggregates are not read again)."""
    runs = runs or {}
    entries: list[HistoryEntry] = []
    versions: dict[int, str] = {}
    probe_sets: dict[int, str] = {}
    for past in repo.list_runs(model_name=model_name):
        if past.model_version_id not in versions:
            versions[past.model_version_id] = repo.get_model_version(past.model_version_id).version
        if past.probe_set_id not in probe_sets:
            ps = repo.get_probe_set(past.probe_set_id)
            probe_sets[past.probe_set_id] = f"{ps.name}@{ps.version}"
        latest = repo.latest_verdict(past.id)
        entries.append(HistoryEntry(
            run_id=past.id,
            model_version=versions[past.model_version_id],
            status=past.status,
            started_at=past.started_at,
            finished_at=past.finished_at,
            probe_set=probe_sets[past.probe_set_id],
            verdict=latest.verdict if latest else None,
            baseline_run_id=latest.baseline_run_id if latest else None,
            aggregates=(tuple(runs[past.id].aggregate_metrics()) if past.id in runs
                        else tuple(repo.get_metrics(past.id, aggregate_only=True))),
        ))
    entries.sort(key=lambda e: (e.started_at or _EPOCH, e.run_id))
    return entries
