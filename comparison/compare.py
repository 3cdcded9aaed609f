"""`compare_runs`: judge a candidate run against a baseline run.

The metric checks (`comparison.paired`) and the map-drift checks (`comparison.drift`) are judged by
`comparison.rules`, explained by `comparison.describe`, and returned as one `ComparisonResult`.
Deterministic for given settings (the bootstrap is seeded per check). Where the versions generated
different words only the words both produced are compared, and the result says how many.
"""

from __future__ import annotations

from comparison.describe import describe_words, headline, reasons
from comparison.drift import ProbeWordsDrift, drift_checks, probe_drift
from comparison.errors import ComparisonError
from comparison.inputs import RunResults
from comparison.paired import PairedChecks, paired_checks
from comparison.result import ComparisonResult, ProbeComparison
from comparison.rules import worst_verdict
from comparison.settings import RegressionConfig
from comparison.words import WordKey


def compare_runs(
    candidate: RunResults, baseline: RunResults, config: RegressionConfig | None = None
) -> ComparisonResult:
    """Compare two runs' metric values and maps; raises `ComparisonError` when they share nothing."""
    config = config or RegressionConfig()
    paired = paired_checks(candidate.per_probe_metrics(), baseline.per_probe_metrics(), config)
    drifted = probe_drift(candidate, baseline, config.drift.top_fraction)
    checks = [*paired.checks, *drift_checks(drifted, config)]
    if not checks:
        raise ComparisonError(f"runs {candidate.run_id} and {baseline.run_id} share no metric values "
                              "and no maps: nothing to compare")
    probes = _probe_details(drifted, paired)
    n_shared = sum(len(p.shared) for p in drifted)
    n_cand_only = sum(len(p.candidate_only) for p in drifted)
    n_base_only = sum(len(p.baseline_only) for p in drifted)
    verdict = worst_verdict(c.verdict for c in checks if c.counts)
    words = describe_words(n_shared, len(probes), n_cand_only, n_base_only)
    return ComparisonResult(
        candidate_run_id=candidate.run_id,
        baseline_run_id=baseline.run_id,
        verdict=verdict,
        headline=headline(verdict, checks, confidence=config.confidence, min_probes=config.min_probes,
                          n_words=n_shared, n_probes=len(probes)),
        reasons=reasons(checks, words),
        comparisons=tuple(checks),
        probes=probes,
        n_probes_compared=len(probes),
        n_words_compared=n_shared,
        n_words_candidate_only=n_cand_only,
        n_words_baseline_only=n_base_only,
        skipped=tuple(paired.skipped),
        settings=config.to_dict(),
    )


def _listing(keys: frozenset[WordKey]) -> tuple[str, ...]:
    return tuple(word for word, _ in sorted(keys))


def _probe_details(drifted: list[ProbeWordsDrift], paired: PairedChecks) -> tuple[ProbeComparison, ...]:
    """One detail row per probe with shared answers or paired metric values, by probe key."""
    details = [
        ProbeComparison(p.probe_key, p.candidate_text, p.baseline_text, _listing(p.shared),
                        _listing(p.candidate_only), _listing(p.baseline_only),
                        tuple(paired.probe_deltas.get(p.probe_key, ())), p.drift)
        for p in drifted
    ]
    covered = {p.probe_key for p in drifted}
    details += [ProbeComparison(key, None, None, (), (), (), tuple(deltas), ())
                for key, deltas in paired.probe_deltas.items() if key not in covered]
    return tuple(sorted(details, key=lambda d: d.probe_key))
