"""The report's banner: the verdict's headline first, then the checks that decided it, grouped.

Why grouped by check: a verdict over two methods and eight metrics lists a dozen or more reasons;
the same metric failing for every method is one finding, so it is one line naming the methods.
Checks that only warned under a failing verdict, checks reported only, and the remaining notes (the
words compared, metrics that could not be paired) are folded away in a <details> element: the
reader sees the headline and the failures in a minute, and the rest is one click away.
"""

from __future__ import annotations

from dataclasses import dataclass

from comparison import ComparisonResult, MetricComparison
from comparison.rules import worst_first
from reports.data import ReportData
from reports.page import esc, number
from reports.sections import limit_text, version_label

_NO_VERDICT = {True: "Not judged: no stored verdict for this baseline.",
               False: "No comparison: this audit has no baseline."}
_FOLDED_TITLE = {"warn": "too close to call (warn)", "fail": "failed"}


@dataclass(frozen=True)
class CheckGroup:
    """The checks of one metric that share a verdict (and whether they count), across methods."""

    metric: str
    verdict: str
    counts: bool
    checks: tuple[MetricComparison, ...]  # worst first


def checks_by_metric(checks: tuple[MetricComparison, ...] | list[MetricComparison]) -> list[CheckGroup]:
    """Checks that did not pass, one group per (metric, verdict, counts), worst group first."""
    groups: dict[tuple[str, str, bool], list[MetricComparison]] = {}
    for check in worst_first(c for c in checks if c.verdict != "pass"):
        groups.setdefault((check.metric, check.verdict, check.counts), []).append(check)
    order = [k for k in groups if k[2]] + [k for k in groups if not k[2]]  # counted checks first
    return [CheckGroup(metric, verdict, counts, tuple(groups[(metric, verdict, counts)]))
            for metric, verdict, counts in order]


def group_line(group: CheckGroup, min_probes: int = 0) -> str:
    """One line of HTML: the metric, what happened, each method's value with its CI, the limit."""
    first = group.checks[0]
    signed = not first.is_drift
    if first.is_drift:
        what = "maps of the two versions agree at only" if group.verdict == "fail" else "maps agree at"
    else:
        falls = {c.delta < 0 for c in group.checks}
        what = "changed" if len(falls) > 1 else ("fell" if falls.pop() else "rose")
    limits = {limit_text(c) for c in group.checks}
    items = []
    for c in group.checks:
        item = (f"<b>{esc(c.method)}</b> {number(c.delta, signed)} "
                f"<span class=ci>[{number(c.ci_low, signed)}, {number(c.ci_high, signed)}]</span>")
        if len(limits) > 1:
            item += f" ({esc(limit_text(c))})"
        if c.n_probes < min_probes:
            item += f" (only {esc(c.n_probes)} probes)"
        items.append(item)
    tail = f"; {esc(limits.pop())}" if len(limits) == 1 else ""
    reported = "" if group.counts else " <i>(reported only, does not decide the verdict)</i>"
    return (f'<li class="check-group verdict-{esc(group.verdict)}" data-metric="{esc(group.metric)}">'
            f"<code>{esc(group.metric)}</code> {what}: " + ", ".join(items) + tail + reported + "</li>")


def _notes(verdict: ComparisonResult) -> list[str]:
    """Stored reasons that are not one check's sentence (the words compared, say), and skipped metrics."""
    sentences = {c.reason for c in verdict.comparisons}
    notes = [r for r in verdict.reasons if r not in sentences]
    return notes + [s for s in verdict.skipped if s not in notes]


def _folded_label(folded: list[CheckGroup], notes: list[str]) -> str:
    """"5 checks too close to call (warn), 2 reported only, and notes on the comparison"."""
    def count(n: int, what: str) -> str:
        return f"{n} check{'s' if n != 1 else ''} {what}"

    parts = []
    for verdict in ("fail", "warn"):
        n = sum(len(g.checks) for g in folded if g.counts and g.verdict == verdict)
        if n:
            parts.append(count(n, _FOLDED_TITLE[verdict]))
    n = sum(len(g.checks) for g in folded if not g.counts)
    if n:
        parts.append(count(n, "reported only"))
    if notes:
        parts.append("notes on the comparison")
    text = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    return text[0].upper() + text[1:]


def banner(data: ReportData) -> str:
    """Headline, what was compared, the deciding checks grouped; the rest folded."""
    v = data.verdict
    subject = esc(version_label(data, "candidate"))
    against = f" compared with {esc(version_label(data, 'baseline'))}" if data.has_baseline else ""
    context = (f'<p class="subject">{subject}{against} on probe set {esc(data.probe_set.name)} '
               f"v{esc(data.probe_set.version)}.</p>")
    if v is None:
        return (f'<header id="verdict-banner" class="banner verdict-none" data-verdict="none">'
                f'<h1 id="headline">{esc(_NO_VERDICT[data.has_baseline])}</h1>{context}</header>')
    min_probes = int(v.settings.get("min_probes", 0) or 0)
    groups = checks_by_metric([c for c in v.comparisons if c.group is None])  # word groups: reports.attention
    shown = [g for g in groups if g.counts and g.verdict == v.verdict]
    folded = [g for g in groups if g not in shown]
    visible = "".join(group_line(g, min_probes) for g in shown)
    more = ""
    notes = _notes(v)
    if folded or notes:
        more = (f'<details id="more-reasons"><summary>{esc(_folded_label(folded, notes))}</summary>'
                + (f'<ul class="check-groups">{"".join(group_line(g, min_probes) for g in folded)}</ul>'
                   if folded else "")
                + (f'<ul class="notes">{"".join(f"<li>{esc(n)}</li>" for n in notes)}</ul>' if notes else "")
                + "</details>")
    title = _FOLDED_TITLE.get(v.verdict, "")
    checks_list = (f'<p class="groups-title">Checks that {esc(title)}, by metric '
                   f"(each method's value and its {esc(v.confidence_label)} CI):</p>"
                   f'<ul id="deciding-checks" class="check-groups">{visible}</ul>') if visible else ""
    return (f'<header id="verdict-banner" class="banner verdict-{esc(v.verdict)}" data-verdict="{esc(v.verdict)}">'
            f'<h1 id="headline"><span class="verdict-word">{esc(v.verdict.upper())}</span> '
            f"{esc(v.headline)}</h1>{context}{checks_list}{more}</header>")
