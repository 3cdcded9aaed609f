"""`compare_runs`: judge a candidate run against a baseline run.

The metric checks (`comparison.paired`; answer metrics included, so a word one version got wrong
counts) and the map-drift checks (`comparison.drift`) need only the two runs. With the probe set's
layout (`comparison.layout`) come the per-word-group checks (`comparison.grouped`), the fixed-locus
check on each version alone (`comparison.locus`: the candidate's counts, the baseline's is shown for
contrast), and the findings the report shows (attention shift, counterfactual summary). The rules
of `comparison.rules` judge each check (drift alone only warns, unless the settings say otherwise),
`comparison.describe` explains them, and one `ComparisonResult` carries it all. Deterministic for
given settings (the bootstrap is seeded per check). Map checks compare the words both versions
generated; the answer checks judge the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from comparison.counterfactual import counterfactual_summary
from comparison.describe import DRIFT_ALONE, describe_words, headline, reasons
from comparison.drift import ProbeWordsDrift, drift_checks, probe_drift
from comparison.errors import ComparisonError
from comparison.findings import AttentionShift, CounterfactualSummary, LocusFinding
from comparison.grouped import group_checks, probe_slots
from comparison.inputs import RunResults
from comparison.layout import ProbeSetLayout
from comparison.locus import locus_checks
from comparison.paired import PairedChecks, ProbeValues, paired_checks
from comparison.result import ComparisonResult, MetricComparison, ProbeComparison
from comparison.rules import drift_alone, worst_verdict
from comparison.settings import RegressionConfig
from comparison.shift import attention_shifts
from comparison.wordmaps import run_word_maps
from comparison.words import WordKey


@dataclass
class LayoutChecks:
    """What the probe set's layout adds: group and fixed-locus checks, and the findings."""

    checks: list[MetricComparison] = field(default_factory=list)
    locus: list[LocusFinding] = field(default_factory=list)
    shifts: list[AttentionShift] = field(default_factory=list)
    counterfactual: list[CounterfactualSummary] = field(default_factory=list)


def layout_checks(candidate: RunResults, baseline: RunResults, values: tuple[ProbeValues, ProbeValues],
                  layout: ProbeSetLayout, config: RegressionConfig) -> LayoutChecks:
    """Word-group checks, both versions' fixed loci and the findings, each run's word maps built once.
    A word's slot comes from the candidate's answer, else the baseline's."""
    out = LayoutChecks()
    slots = probe_slots(baseline.generations, layout)
    for probe_key, by_word in probe_slots(candidate.generations, layout).items():
        slots[probe_key] = {**slots.get(probe_key, {}), **by_word}
    out.checks += group_checks(values[0], values[1], slots, layout, config)
    word_maps = {side: run_word_maps(run, layout) for side, run in (("candidate", candidate), ("baseline", baseline))}
    for side, run in (("candidate", candidate), ("baseline", baseline)):
        checks, findings = locus_checks(run, layout, config, side, word_maps[side])
        out.checks += checks
        out.locus += findings
        out.counterfactual += counterfactual_summary(run, layout, side, word_maps[side])
    out.shifts = attention_shifts(candidate, baseline, layout, config, (word_maps["candidate"], word_maps["baseline"]))
    return out


def compare_runs(
    candidate: RunResults, baseline: RunResults, config: RegressionConfig | None = None,
    layout: ProbeSetLayout | None = None,
) -> ComparisonResult:
    """Compare two runs' metric values and maps (and, with the probe set's `layout`, word groups,
    fixed loci and findings); raises `ComparisonError` when they share nothing."""
    config = config or RegressionConfig()
    values = (ProbeValues.of(candidate.per_probe_metrics()), ProbeValues.of(baseline.per_probe_metrics()))
    paired = paired_checks(*values, config)
    drifted = probe_drift(candidate, baseline, config.drift.top_fraction)
    checks = [*paired.checks, *drift_checks(drifted, config)]
    if not checks:
        raise ComparisonError(f"runs {candidate.run_id} and {baseline.run_id} share no metric values "
                              "and no maps: nothing to compare")
    extra = layout_checks(candidate, baseline, values, layout, config) if layout is not None else LayoutChecks()
    checks = drift_alone([*checks, *extra.checks], config.drift.alone, DRIFT_ALONE)
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
        locus=tuple(extra.locus),
        attention_shift=tuple(extra.shifts),
        counterfactual=tuple(extra.counterfactual),
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
