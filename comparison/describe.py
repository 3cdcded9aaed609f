"""The sentences of a verdict: one per check, one on the words compared, and one headline.

Why here: the command line, the alert, the report's banner and its comparison table all say why
a version passed or failed; written once, they say it the same way. The headline is the sentence a
reader sees first: which check failed, by how much, and what that means for the model.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Sequence

from comparison.rules import DRIFT_SPEARMAN, worst_first
from comparison.settings import RegressionConfig

if TYPE_CHECKING:  # pragma: no cover
    from comparison.result import MetricComparison

_DRIFT_NAMES = {DRIFT_SPEARMAN: "Spearman rank correlation"}


def _ci(check: "MetricComparison", confidence: float, signed: bool) -> str:
    fmt = "{:+.3f}" if signed else "{:.3f}"
    return f"{confidence * 100:g}% CI [{fmt.format(check.ci_low)}, {fmt.format(check.ci_high)}]"


def _change(check: "MetricComparison") -> str:
    return "fell" if check.delta < 0 else "rose"


def describe_check(check: "MetricComparison", *, confidence: float = 0.95, min_probes: int = 1) -> str:
    """One readable sentence: what changed, by how much, how sure, against which limit."""
    if check.is_drift:
        head = (f"{check.method} {check.metric}: maps of the two versions agree at {check.delta:.3f} "
                f"({_ci(check, confidence, False)}, {check.n_pairs} shared words), minimum accepted "
                f"{check.tolerance:.3f}")
        tail = {"fail": "the candidate looks somewhere else.",
                "warn": "the interval straddles the minimum.",
                "pass": "the maps agree."}[check.verdict]
    else:
        sign = "+" if check.direction == "lower_is_better" else "-"
        head = (f"{check.method} {check.metric} {_change(check)} by {abs(check.delta):.3f} "
                f"({_ci(check, confidence, True)}, {check.n_pairs} pairs), tolerance {sign}{check.tolerance:.3f}")
        tail = {"fail": "regression beyond tolerance.",
                "warn": "the interval straddles the tolerance.",
                "pass": "within tolerance."}[check.verdict]
    sentence = f"{head}: {tail}"
    if check.n_probes < min_probes:
        sentence += f" Only {check.n_probes} probe(s) paired (minimum {min_probes})."
    if not check.counts:
        sentence += " Reported only: map drift does not decide this verdict (drift.affects_verdict = false)."
    return sentence


def with_reason(check: "MetricComparison", config: RegressionConfig) -> "MetricComparison":
    """The check with its sentence filled in, phrased for these settings."""
    return replace(check, reason=describe_check(check, confidence=config.confidence, min_probes=config.min_probes))


def describe_words(n_shared: int, n_probes: int, n_candidate_only: int, n_baseline_only: int) -> str:
    return (f"Compared {n_shared} words both versions generated on {n_probes} probes "
            f"({n_candidate_only} words only the candidate generated and {n_baseline_only} only the "
            "baseline generated were left out).")


def reasons(checks: Sequence["MetricComparison"], words_sentence: str) -> tuple[str, ...]:
    """Every check that did not pass, worst first (those that count, then those reported only),
    then the words sentence."""
    flagged = worst_first(c for c in checks if c.verdict != "pass" and c.counts)
    reported = worst_first(c for c in checks if c.verdict != "pass" and not c.counts)
    out = [c.reason for c in (*flagged, *reported)]
    if not flagged:
        n_counted = sum(1 for c in checks if c.counts)
        out.insert(0, f"All {n_counted} comparisons that decide the verdict are within tolerance.")
    out.append(words_sentence)
    return tuple(out)


def headline(verdict: str, checks: Sequence["MetricComparison"], *, confidence: float = 0.95,
             min_probes: int = 1, n_words: int = 0, n_probes: int = 0) -> str:
    """One plain-language sentence: which check decided the verdict, by how much, what it means
    (the verdict itself is said beside it: "verdict: FAIL - <headline>")."""
    counted = [c for c in checks if c.counts]
    if verdict == "pass":
        text = (f"All {len(counted)} checks are within tolerance over {n_words} words both versions "
                f"generated on {n_probes} probes: explanation quality held up.")
        ignored = [c for c in checks if not c.counts and c.verdict == "fail"]
        if ignored:
            text += (" Map drift failed for " + ", ".join(sorted({c.method for c in ignored}))
                     + " but is reported only.")
        return text
    worst = worst_first(c for c in counted if c.verdict == verdict)
    top, more = worst[0], len(worst) - 1
    # the count of further checks closes the sentence, so it never reads as the meaning of the first
    also = f" {more} more check{'s' if more != 1 else ''} {'failed' if verdict == 'fail' else 'warned'}." if more else ""
    if verdict == "warn":
        if top.n_probes < min_probes:
            return (f"Only {top.n_probes} probe(s) could be paired for {top.method} {top.metric} "
                    f"(minimum {min_probes}): too few to call this version safe.{also}")
        limit = f"minimum {top.tolerance:.3f}" if top.is_drift else f"tolerance {top.tolerance:.3f}"
        return (f"No check failed, but {top.method} {top.metric} is too close to call "
                f"({top.delta:.3f}, {_ci(top, confidence, not top.is_drift)} straddles its {limit}): "
                f"more probes or a look at the report are needed before trusting this version.{also}")
    if top.is_drift:
        measure = _DRIFT_NAMES.get(top.metric, "top-cell overlap")
        return (f"{top.method}'s maps of the same words agree with the baseline's at only "
                f"{top.delta:.2f} ({measure}, {_ci(top, confidence, False)}), below the minimum "
                f"{top.tolerance:.2f}: the candidate looks at other parts of the image than the "
                f"baseline did for the same words.{also}")
    return (f"{top.method} {top.metric} {_change(top)} by {abs(top.delta):.3f} "
            f"({_ci(top, confidence, True)}), beyond the tolerance of {top.tolerance:.3f}: the "
            f"candidate's explanations are measurably worse than the baseline's.{also}")
