"""The sentences of a verdict: one per check, one on the words compared, and one headline.

Why here: the command line, the alert, the report's banner and its comparison table all say why
a version passed or failed; written once, they say it the same way. The headline is the sentence a
reader sees first: which check failed, by how much, and what that means for the model. A check on
a word group names the group ("the first colour word"); answer checks say what the answers got
wrong; a drift check that only warns because nothing else regressed says so.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Sequence

from comparison.groups import describe_group
from comparison.rules import ANSWER_METHOD, DRIFT_SPEARMAN, LOCUS_PREFIX, worst_first
from comparison.settings import RegressionConfig

if TYPE_CHECKING:  # pragma: no cover
    from comparison.result import MetricComparison

_DRIFT_NAMES = {DRIFT_SPEARMAN: "Spearman rank correlation"}
# what a failing check means, where it says more than "regression beyond tolerance"
_MEANING = {
    "answer_recall": "the candidate leaves out or misnames words the image holds that the baseline named.",
    "answer_precision": "the candidate names words no object in the image has, where the baseline did not.",
    "answer_exact": "the candidate's answers match the reference answers less often.",
    "pointing_game": "the candidate's maps no longer peak on the objects the words name.",
    "peak_off_object": "the candidate's maps moved to cells that hold no object.",
}
DRIFT_ALONE = (" No quality check regressed, so this alone is a warning: the candidate's maps are different, "
               "not measurably worse.")


def _ci(check: "MetricComparison", confidence: float, signed: bool) -> str:
    fmt = "{:+.3f}" if signed else "{:.3f}"
    return f"{confidence * 100:.4g}% CI [{fmt.format(check.ci_low)}, {fmt.format(check.ci_high)}]"


def _change(check: "MetricComparison") -> str:
    return "fell" if check.delta < 0 else "rose"


def subject(check: "MetricComparison") -> str:
    """"tam pointing_game", "answers: answer_recall", with " of the first colour word" for a group."""
    head = f"answers: {check.metric}" if check.method == ANSWER_METHOD else f"{check.method} {check.metric}"
    return head + (f" of {describe_group(check.group)}" if check.group else "")


def describe_check(check: "MetricComparison", *, confidence: float = 0.95, min_probes: int = 1) -> str:
    """One readable sentence: what changed, by how much, how sure, against which limit."""
    if check.is_drift:
        head = (f"{subject(check)}: maps of the two versions agree at {check.delta:.3f} "
                f"({_ci(check, confidence, False)}, {check.n_pairs} shared words), minimum accepted "
                f"{check.tolerance:.3f}")
        tail = {"fail": "the candidate looks somewhere else.",
                "warn": "the interval straddles the minimum.",
                "pass": "the maps agree."}[check.verdict]
    else:
        sign = "+" if check.direction == "lower_is_better" else "-"
        head = (f"{subject(check)} {_change(check)} by {abs(check.delta):.3f} "
                f"({_ci(check, confidence, True)}, {check.n_pairs} pairs), tolerance {sign}{check.tolerance:.3f}")
        tail = {"fail": "regression beyond tolerance" + (f": {_MEANING[check.metric]}" if check.metric in _MEANING
                                                          else "."),
                "warn": "the interval straddles the tolerance.",
                "pass": "within tolerance."}[check.verdict]
    sentence = f"{head}: {tail}"
    if check.n_probes < min_probes:
        sentence += f" Only {check.n_probes} probe(s) paired (minimum {min_probes})."
    if not check.counts:
        sentence += " Reported only: it does not decide this verdict (settings)."
    return sentence


def with_reason(check: "MetricComparison", config: RegressionConfig,
                confidence: float | None = None) -> "MetricComparison":
    """The check with its sentence filled in, phrased for these settings (`confidence`: the level
    its interval was computed at, when not the settings' own, e.g. a corrected family's)."""
    level = config.confidence if confidence is None else confidence
    return replace(check, reason=describe_check(check, confidence=level, min_probes=config.min_probes))


def describe_words(n_shared: int, n_probes: int, n_candidate_only: int, n_baseline_only: int) -> str:
    return (f"Compared the maps of {n_shared} words both versions generated on {n_probes} probes "
            f"({n_candidate_only} words only the candidate generated and {n_baseline_only} only the "
            "baseline generated are judged by the answer checks, not the map checks).")


MAX_REPORTED_GROUPS = 5


def reasons(checks: Sequence["MetricComparison"], words_sentence: str) -> tuple[str, ...]:
    """Every check that did not pass, worst first (those that count, then those reported only, of
    which at most `MAX_REPORTED_GROUPS` word-group checks), then the words sentence."""
    flagged = worst_first(c for c in checks if c.verdict != "pass" and c.counts)
    reported = worst_first(c for c in checks if c.verdict != "pass" and not c.counts)
    groups = [c for c in reported if c.group is not None]
    shown = [c for c in reported if c.group is None] + groups[:MAX_REPORTED_GROUPS]
    out = [c.reason for c in (*flagged, *shown)]
    if len(groups) > MAX_REPORTED_GROUPS:
        out.append(f"{len(groups) - MAX_REPORTED_GROUPS} more word-group checks did not pass (reported only; "
                   "the report lists them all).")
    if not flagged:
        n_counted = sum(1 for c in checks if c.counts)
        out.insert(0, f"All {n_counted} comparisons that decide the verdict are within tolerance.")
    out.append(words_sentence)
    return tuple(out)


def focus(top: "MetricComparison", checks: Sequence["MetricComparison"]) -> str:
    """" Most affected: <group> (...)." for the failing word group behind a pooled check of the
    same method (the same metric preferred), or "" when there is none or `top` is a group check."""
    if top.group is not None:
        return ""
    groups = [c for c in checks if c.group is not None and c.verdict == "fail" and c.method == top.method]
    same = [c for c in groups if c.metric == top.metric]
    ranked = worst_first(same or groups)  # classes and slots before single words
    if not ranked:
        return ""
    g = ranked[0]
    return f" Most affected: {describe_group(g.group or '')} ({g.method} {g.metric} {g.delta:+.2f})."


def headline(verdict: str, checks: Sequence["MetricComparison"], *, confidence: float = 0.95,
             min_probes: int = 1, n_words: int = 0, n_probes: int = 0) -> str:
    """One plain-language sentence: which check decided the verdict, by how much, what it means
    (the verdict itself is said beside it: "verdict: FAIL - <headline>")."""
    counted = [c for c in checks if c.counts]
    if verdict == "pass":
        text = (f"All {len(counted)} checks are within tolerance over {n_words} words both versions "
                f"generated on {n_probes} probes: explanation quality held up.")
        ignored = [c for c in checks if not c.counts and c.verdict == "fail" and c.is_drift]
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
        if top.is_drift and top.reason.endswith(DRIFT_ALONE.strip()):
            return (f"{top.method}'s maps of the same words agree with the baseline's at only {top.delta:.2f} "
                    f"({_ci(top, confidence, False)}, minimum {top.tolerance:.2f}), but no quality check "
                    f"regressed: the candidate looks elsewhere than the baseline, and is not measurably worse.{also}")
        limit = f"minimum {top.tolerance:.3f}" if top.is_drift else f"tolerance {top.tolerance:.3f}"
        return (f"No check failed, but {subject(top)} is too close to call "
                f"({top.delta:.3f}, {_ci(top, confidence, not top.is_drift)} straddles its {limit}): "
                f"more probes or a look at the report are needed before trusting this version.{also}")
    if top.metric.startswith(LOCUS_PREFIX):
        return top.reason + also
    if top.is_drift:
        measure = _DRIFT_NAMES.get(top.metric, "top-cell overlap")
        return (f"{top.method}'s maps of the same words agree with the baseline's at only "
                f"{top.delta:.2f} ({measure}, {_ci(top, confidence, False)}), below the minimum "
                f"{top.tolerance:.2f}: the candidate looks at other parts of the image than the "
                f"baseline did for the same words.{focus(top, checks)}{also}")
    meaning = _MEANING.get(top.metric, "the candidate's explanations are measurably worse than the baseline's.")
    sure = f"{_ci(top, confidence, True)}, " if top.group is None else ""
    return (f"{subject(top)} {_change(top)} by {abs(top.delta):.3f} ({sure}tolerance {top.tolerance:.3f}): "
            f"{meaning}{focus(top, checks)}{also}")
