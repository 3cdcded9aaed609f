"""Judge a candidate run against a baseline run and store the verdict as a record.

Why stored whole (`storage.records.VerdictRecord`): the exit code, the alert, the report written
now, a report rendered months later and the history table must all show the judgement the audit
made, with the settings that produced it. The comparison itself is `comparison.compare_runs`; this
module reads the settings (config file, then the request), converts the result into records, and
reuses a stored verdict when the same pair was already judged under the same settings.
"""

from __future__ import annotations

from typing import Any, Mapping

from comparison import TYPE_ID, ComparisonResult, RegressionConfig, RunResults, compare_runs
from comparison.layout import ProbeSetLayout
from flows.config import Settings, check_regression_table
from storage.records import ComparisonRecord, VerdictRecord


def regression_config(settings: Settings, overrides: Mapping[str, Any] | None) -> RegressionConfig:
    """Tolerances and drift limits: the config file's `[regression]` table, then the request's."""
    return check_regression_table({**settings.regression, **(overrides or {})}, "the config file and the request")


def comparison_records(result: ComparisonResult) -> tuple[ComparisonRecord, ...]:
    """One row per check (drift rows hold the similarity as `delta` and the minimum as `tolerance`;
    a word-group check's metric is written "<metric>[<group>]", e.g. "pointing_game[colour@1]")."""
    return tuple(
        ComparisonRecord(candidate_run_id=result.candidate_run_id, baseline_run_id=result.baseline_run_id,
                         method=c.method, metric=c.metric if c.group is None else f"{c.metric}[{c.group}]",
                         delta=c.delta, ci_low=c.ci_low, ci_high=c.ci_high,
                         n_pairs=c.n_pairs, tolerance=c.tolerance, verdict=c.verdict)
        for c in result.comparisons
    )


def verdict_record(result: ComparisonResult) -> VerdictRecord:
    return VerdictRecord(
        candidate_run_id=result.candidate_run_id,
        baseline_run_id=result.baseline_run_id,
        verdict=result.verdict,
        headline=result.headline,
        reasons=tuple(result.reasons),
        settings=dict(result.settings),
        result=result.to_dict(),
        comparisons=comparison_records(result),
    )


def judge(repository: Any, candidate: RunResults, baseline: RunResults, config: RegressionConfig,
          layout: ProbeSetLayout | None = None) -> ComparisonResult:
    """The verdict of `candidate` against `baseline` under `config`, as stored.

    A pair already judged under the same settings returns the stored verdict unchanged (a rerun
    never writes a second one, nor a different one); otherwise the runs are compared (with the
    probe set's `layout`: word groups, fixed loci and findings, `flows.worker.probe_layout_for`)
    and the verdict, its reasons, settings, full result and comparison rows are stored in one
    transaction.
    """
    settings = config.to_dict()
    for stored in repository.get_verdicts(candidate.run_id):
        if (stored.baseline_run_id == baseline.run_id and stored.settings == settings
                and stored.result.get("type") == TYPE_ID):
            return ComparisonResult.from_dict(stored.result)
    result = compare_runs(candidate, baseline, config, layout)
    return ComparisonResult.from_dict(repository.add_verdict(verdict_record(result)).result)
