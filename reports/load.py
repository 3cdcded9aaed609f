"""Gather a report's data from an `AuditRepository`: runs, the stored verdict, history, lineage.

Why the verdict is read, never recomputed: the report of a run rendered today must show the
judgement the audit returned, under the settings it was made with (`VerdictRecord`), not one
rebuilt from comparison rows under today's rules. A run's report shows the verdict against the
baseline it names; without one named, the run's latest verdict and its baseline.

`runs` lets the flow hand over the records it already read for the comparison, so no map is
decoded twice.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping

from comparison import TYPE_ID, ComparisonResult, MetricComparison, RunResults
from comparison.describe import describe_check
from comparison.inputs import Direction
from reports.data import EPOCH, HistoryEntry, ReportData, ReportInputError

def read_run(repo: Any, run_id: int) -> RunResults:
    """One run's metric values (aggregates included), maps and answers, read once."""
    return RunResults(run_id, metrics=list(repo.get_metrics(run_id)), maps=list(repo.get_maps(run_id)),
                      generations=list(repo.get_generations(run_id)))


def stored_verdict(repo: Any, run_id: int, baseline_run_id: int | None = None,
                   directions: Mapping[tuple[str, str], Direction] | None = None) -> ComparisonResult | None:
    """The latest verdict stored for the run (against `baseline_run_id` when given), as it was made
    (`directions`: each metric's direction, for verdicts stored without their full result)."""
    record = repo.latest_verdict(run_id, baseline_run_id)
    if record is None:
        return None
    if record.result.get("type") == TYPE_ID:
        return ComparisonResult.from_dict(record.result)
    return legacy_verdict(record, directions or {})


def legacy_verdict(record: Any, directions: Mapping[tuple[str, str], Direction]) -> ComparisonResult:
    """A verdict stored without its full result (databases upgraded from before stored verdicts:
    storage backfilled verdict, headline, reasons and comparison rows): shown as stored, with the
    per-check sentences phrased from the rows, probe and word counts unknown (0 and None)."""
    checks = []
    for c in record.comparisons:
        direction = directions.get((c.method, c.metric), "higher_is_better")
        check = MetricComparison(c.method, c.metric, direction, c.delta, c.ci_low, c.ci_high, c.n_pairs, 0,
                                 c.tolerance, c.verdict, reason="")
        checks.append(replace(check, reason=describe_check(check, min_probes=0)))
    return ComparisonResult(
        candidate_run_id=record.candidate_run_id, baseline_run_id=record.baseline_run_id, verdict=record.verdict,
        headline=record.headline, reasons=tuple(record.reasons), comparisons=tuple(checks), probes=(),
        n_probes_compared=None, n_words_compared=None, n_words_candidate_only=None, n_words_baseline_only=None,
        settings=dict(record.settings),
    )


def check_baseline_run(run: Any, baseline_run: Any) -> None:
    """A baseline is another run on the same probe set: paired probe by probe, nothing else compares."""
    if baseline_run.id == run.id:
        raise ReportInputError(f"audit run {run.id} cannot be its own baseline")
    if baseline_run.probe_set_id != run.probe_set_id:
        raise ReportInputError(f"audit run {baseline_run.id} cannot be the baseline of run {run.id}: it audited "
                               f"another probe set (id {baseline_run.probe_set_id}, not {run.probe_set_id})")


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
    runs = dict(runs or {})
    if run_id not in runs:
        runs[run_id] = read_run(repo, run_id)
    if verdict is None:
        directions = {(m.method, m.metric): m.direction for m in runs[run_id].metrics}
        verdict = stored_verdict(repo, run_id, baseline_run_id, directions)
    if baseline_run_id is None and verdict is not None:
        baseline_run_id = verdict.baseline_run_id
    if baseline_run_id is not None and baseline_run_id not in runs:
        runs[baseline_run_id] = read_run(repo, baseline_run_id)
    run = repo.get_run(run_id)
    model = repo.get_model_version(run.model_version_id)
    probe_set = repo.get_probe_set(run.probe_set_id)
    baseline_run = repo.get_run(baseline_run_id) if baseline_run_id is not None else None
    if baseline_run is not None:
        check_baseline_run(run, baseline_run)
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
    )


def history(repo: Any, model_name: str, runs: Mapping[int, RunResults] | None = None) -> list[HistoryEntry]:
    """Every audit of the model name, oldest first, each with its latest stored verdict (`runs`:
    records already read, whose aggregates are not read again)."""
    runs = runs or {}
    entries: list[HistoryEntry] = []
    versions: dict[int, Any] = {}
    probe_sets: dict[int, str] = {}
    for past in repo.list_runs(model_name=model_name):
        if past.model_version_id not in versions:
            versions[past.model_version_id] = repo.get_model_version(past.model_version_id)
        if past.probe_set_id not in probe_sets:
            ps = repo.get_probe_set(past.probe_set_id)
            probe_sets[past.probe_set_id] = f"{ps.name}@{ps.version}"
        latest = repo.latest_verdict(past.id)
        entries.append(HistoryEntry(
            run_id=past.id,
            model_version=versions[past.model_version_id].version,
            aliases=tuple(versions[past.model_version_id].aliases),
            status=past.status,
            started_at=past.started_at,
            finished_at=past.finished_at,
            probe_set=probe_sets[past.probe_set_id],
            verdict=latest.verdict if latest else None,
            baseline_run_id=latest.baseline_run_id if latest else None,
            aggregates=(tuple(runs[past.id].aggregate_metrics()) if past.id in runs
                        else tuple(repo.get_metrics(past.id, aggregate_only=True))),
        ))
    entries.sort(key=lambda e: (e.started_at or EPOCH, e.run_id))
    return entries
