"""Rates, intervals and which checks fired: the validity benchmark's results file and README table.

A trial is one candidate judged against the champion. A shortcut whose verdict is FAIL is detected;
a clean retrain whose verdict is FAIL is a false alarm (WARN pages no one: it is counted apart). A
shortcut model that does not use its cue (it names the cue's word in under half of the
counterfactual scenes where cue and object disagree, `auditors.demo.zoo.ZooModel.uses_its_cue`) has
no shortcut to detect: its trial is listed but kept out of the detection rate. A clean retrain that
captions worse than the recipe's clean target (exact match under 0.9, `auditors.demo.measure.CleanTargets`)
is a worse model, and failing it on its answers is right: clean trials are therefore also counted among
retrains that caption to the target, the false-alarm rate a team auditing good retrains would see.
(Why the caption target alone, not every clean target: the shape wrong-word control of the logit lens,
which most seeds miss, the shipped champion included, says nothing of the answers the audit compares;
with every target the subset held one seed.)
Rates carry Wilson 95 % intervals (`comparison.proportions`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from comparison import ComparisonResult
from comparison.proportions import Rate, wilson_interval
from comparison.rules import LOCUS_PREFIX

DETECTION_GOAL = 0.95
FALSE_ALARM_GOAL = 0.05
USES_CUE_MIN = 0.5  # a shortcut model naming its cue in fewer counterfactuals did not learn the shortcut


def check_family(method: str, metric: str, group: str | None) -> str:
    """A fired check's family, for counting which kind of evidence decided: answer, fixed locus,
    explanation metric, word group, map drift."""
    if method == "answer":
        return "answer" + ("" if group is None else " (word group)")
    if metric.startswith(LOCUS_PREFIX):
        return "fixed locus"
    if metric.startswith("map_drift"):
        return "map drift"
    return "explanation metric" + ("" if group is None else " (word group)")


@dataclass(frozen=True)
class TrialOutcome:
    kind: str
    seed: int
    condition: str
    verdict: str
    fired: tuple[str, ...]  # "method metric[group]" of every failing check that counts
    families: tuple[str, ...]
    headline: str
    uses_cue: float | None = None  # shortcut models: share of counterfactuals naming the cue's word
    captions_to_target: bool | None = None  # clean retrains: caption exact match >= the clean target

    @property
    def counted(self) -> bool:
        """False for a shortcut model that did not learn its shortcut."""
        return self.kind == "clean" or self.uses_cue is None or self.uses_cue >= USES_CUE_MIN

    @classmethod
    def of(cls, kind: str, seed: int, condition: str, result: ComparisonResult,
           uses_cue: float | None = None, captions_to_target: bool | None = None) -> "TrialOutcome":
        failing = [c for c in result.comparisons if c.verdict == "fail" and c.counts]
        fired = tuple(f"{c.method} {c.metric}" + (f"[{c.group}]" if c.group else "") for c in failing)
        families = tuple(sorted({check_family(c.method, c.metric, c.group) for c in failing}))
        return cls(kind, seed, condition, result.verdict, fired, families, result.headline, uses_cue, captions_to_target)


@dataclass
class KindSummary:
    kind: str
    condition: str
    n: int
    fails: Rate
    warns: int
    missing_seeds: list[int] = field(default_factory=list)
    families: dict[str, int] = field(default_factory=dict)  # how many trials each family fired in
    not_using_cue: list[int] = field(default_factory=list)  # seeds of shortcut models left out: no shortcut
    fails_captioning_to_target: Rate | None = None  # clean: FAIL rate among retrains captioning to target


def summarise(outcomes: Sequence[TrialOutcome], kinds: Sequence[str], conditions: Sequence[str],
              missing: dict[tuple[str, str], list[int]]) -> list[KindSummary]:
    out = []
    for condition in conditions:
        for kind in kinds:
            every = [o for o in outcomes if o.kind == kind and o.condition == condition]
            mine = [o for o in every if o.counted]
            families = Counter(f for o in mine for f in o.families)
            good = [o for o in mine if o.captions_to_target]
            out.append(KindSummary(kind, condition, len(mine), _fail_rate(mine),
                                   sum(o.verdict == "warn" for o in mine), missing.get((condition, kind), []),
                                   dict(sorted(families.items())), [o.seed for o in every if not o.counted],
                                   _fail_rate(good) if kind == "clean" else None))
    return out


def _fail_rate(outcomes: Sequence[TrialOutcome]) -> Rate:
    return wilson_interval(sum(o.verdict == "fail" for o in outcomes), len(outcomes))


def _judged(rate: Rate, false_alarms: bool) -> str:
    """'shown' when the whole interval meets the goal, 'not shown (N trials)' when only the estimate
    does, 'missed' (bold) when the estimate misses it: a handful of trials cannot show 95 % or 5 %."""
    if not rate.n:
        return ""
    if false_alarms:
        estimate_ok, shown = rate.rate <= FALSE_ALARM_GOAL, rate.high <= FALSE_ALARM_GOAL
    else:
        estimate_ok, shown = rate.rate >= DETECTION_GOAL, rate.low >= DETECTION_GOAL
    if shown:
        return " shown"
    return f" not shown ({rate.n} trials)" if estimate_ok else " **missed**"


def _rate(rate: Rate) -> str:
    if rate.n == 0:
        return "no trials"
    return f"{rate.k}/{rate.n} = {rate.rate:.0%} [{rate.low:.0%}, {rate.high:.0%}]"


def markdown_table(summaries: Sequence[KindSummary]) -> str:
    """The README table: per probe condition and kind, the rate, its interval, and the evidence."""
    lines = ["| probes | candidate | FAIL rate (95% Wilson CI) | goal | WARN | checks that fired (trials) |",
             "|---|---|---|---|---|---|"]
    for s in summaries:
        goal = (f"≤ {FALSE_ALARM_GOAL:.0%} (false alarms)" if s.kind == "clean"
                else f"≥ {DETECTION_GOAL:.0%} (detection)")
        met = _judged(s.fails, s.kind == "clean")
        fired = ", ".join(f"{k} ({v})" for k, v in s.families.items()) or "none"
        missing = f" ({len(s.missing_seeds)} missing)" if s.missing_seeds else ""
        if s.not_using_cue:
            missing += f" ({len(s.not_using_cue)} left out: did not learn its cue)"
        candidate = "clean retrain" if s.kind == "clean" else f"shortcut: {s.kind}"
        lines.append(f"| {s.condition} | {candidate}{missing} | {_rate(s.fails)} | {goal}{met} | {s.warns} | {fired} |")
        if s.fails_captioning_to_target is not None:
            good = s.fails_captioning_to_target
            met = _judged(good, True)
            lines.append(f"| {s.condition} | of which captioning to the clean target (≥ 0.9) | {_rate(good)} | {goal}{met} | | |")
    return "\n".join(lines)


def results_document(*, plan: dict[str, Any], outcomes: Sequence[TrialOutcome], summaries: Sequence[KindSummary],
                     calibration: dict[str, Any], settings: dict[str, Any], machine: dict[str, Any],
                     timings: dict[str, float], missing: list[str]) -> dict[str, Any]:
    return {
        "plan": plan,
        "settings_judged_with": settings,
        "calibration": calibration,
        "summary": [asdict(s) for s in summaries],
        "trials": [asdict(o) for o in outcomes],
        "missing_models": missing,
        "markdown_table": markdown_table(summaries),
        "machine": machine,
        "timings_s": timings,
    }
