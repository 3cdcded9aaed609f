"""The outcome of comparing a candidate run with a baseline run: one typed object that saves,
loads and diffs.

Why one object (as inseq keeps one output type): the flow decides the exit code from it, stores it
as the verdict record, the alert sends it, and the report renders it, months later, exactly as it
was made. `to_dict` writes it with a stable type id (`TYPE_ID`) and a format version; `from_dict`
loads every version this code has ever written (older formats are upgraded step by step in
`_UPGRADES`), so a refactor never orphans a stored verdict. Format 2 added per-word-group checks
(`MetricComparison.group`) and the findings of `comparison.findings` (fixed locus, attention shift,
counterfactual summary); a format-1 verdict loads with no groups and no findings. `diff` says which checks changed
verdict between two comparisons (e.g. the same pair judged under new settings).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping

from comparison.errors import ComparisonError
from comparison.findings import AttentionShift, CounterfactualSummary, LocusFinding
from comparison.inputs import Direction
from comparison.rules import DRIFT_SPEARMAN, DRIFT_TOP_OVERLAP, VERDICT_ORDER, Verdict, beyond_limit, is_drift_metric

TYPE_ID = "mllm_audit.comparison"
FORMAT_VERSION = 2


def _v1_to_v2(body: dict[str, Any]) -> dict[str, Any]:
    """Format 1 had no word groups and no findings."""
    comparisons = [{**c, "group": None} for c in body.get("comparisons", [])]
    return {**body, "comparisons": comparisons, "locus": [], "attention_shift": [], "counterfactual": []}


# version n -> a function turning a version-n dict into a version-(n + 1) dict
_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2}


@dataclass(frozen=True)
class MetricComparison:
    """One check: a metric's mean paired delta (for drift: the mean similarity) with its CI, the
    pairs and probes it rests on, its limit, its verdict and the sentence that explains it.

    `counts`: whether this check takes part in the overall verdict (drift may be reported only).
    `group`: None for a check over every word (and for the fixed-locus check, whose finding names its
    group); else the word group it is about
    (`comparison.groups`: "colour" a class, "colour@1" the first colour word, "word:red" one word).
    """

    method: str
    metric: str
    direction: Direction
    delta: float
    ci_low: float
    ci_high: float
    n_pairs: int
    n_probes: int
    tolerance: float  # for drift: the minimum accepted similarity
    verdict: Verdict
    reason: str
    counts: bool = True
    group: str | None = None

    @property
    def is_drift(self) -> bool:
        return is_drift_metric(self.metric)

    @property
    def key(self) -> tuple[str, str]:
        """Which metric of which method (a group check shares it with its pooled check)."""
        return (self.method, self.metric)

    @property
    def identity(self) -> tuple[str, str, str | None]:
        """What makes a check unique within a comparison."""
        return (self.method, self.metric, self.group)


@dataclass(frozen=True)
class ProbeDelta:
    method: str
    metric: str
    delta: float  # mean over the probe's paired words
    n_pairs: int


@dataclass(frozen=True)
class ProbeDrift:
    method: str
    spearman: float
    top_overlap: float
    n_words: int


@dataclass(frozen=True)
class ProbeComparison:
    """Per-probe detail: which words were shared and how each metric and map moved."""

    probe_key: str
    candidate_text: str | None
    baseline_text: str | None
    shared_words: tuple[str, ...]
    candidate_only_words: tuple[str, ...]
    baseline_only_words: tuple[str, ...]
    deltas: tuple[ProbeDelta, ...]
    drift: tuple[ProbeDrift, ...]


@dataclass(frozen=True)
class ProbeFlag:
    """One probe beyond the limit of a check that did not pass: the probe's own value on that
    check (its mean paired delta; for drift, its maps' similarity) and how far beyond the limit.

    Why: a reader of one probe needs the two or three changes that matter, not every delta.
    """

    method: str
    metric: str
    value: float
    check_verdict: Verdict  # the whole check's verdict (warn or fail), not this probe's
    beyond: float  # how far the value lies beyond the check's limit (> 0)

    @property
    def is_drift(self) -> bool:
        return is_drift_metric(self.metric)


@dataclass(frozen=True)
class CheckChange:
    """A check whose verdict differs between two comparisons (None: the check is absent)."""

    method: str
    metric: str
    before: Verdict | None
    after: Verdict | None
    group: str | None = None


@dataclass(frozen=True)
class ResultDiff:
    """What changed from one comparison (`before`) to another (`after`)."""

    verdict_before: Verdict
    verdict_after: Verdict
    changes: tuple[CheckChange, ...]

    @property
    def changed(self) -> bool:
        return self.verdict_before != self.verdict_after or bool(self.changes)


@dataclass(frozen=True)
class ComparisonResult:
    """The judgement of a candidate run against a baseline run, with everything behind it."""

    candidate_run_id: int
    baseline_run_id: int
    verdict: Verdict
    headline: str
    reasons: tuple[str, ...]
    comparisons: tuple[MetricComparison, ...]
    probes: tuple[ProbeComparison, ...]
    # None: not recorded (a verdict stored before whole results were, see `reports.load`)
    n_probes_compared: int | None
    n_words_compared: int | None
    n_words_candidate_only: int | None
    n_words_baseline_only: int | None
    skipped: tuple[str, ...] = ()  # metrics that could not be paired, as sentences
    settings: Mapping[str, Any] = field(default_factory=dict)  # RegressionConfig.to_dict()
    locus: tuple[LocusFinding, ...] = ()
    attention_shift: tuple[AttentionShift, ...] = ()
    counterfactual: tuple[CounterfactualSummary, ...] = ()

    @property
    def failed(self) -> bool:
        return self.verdict == "fail"

    @property
    def confidence_label(self) -> str:
        """The intervals' confidence as the report writes it ("95%"): a setting, so never hard-coded."""
        from comparison.settings import RegressionConfig

        return f"{100 * float(self.settings.get('confidence', RegressionConfig.confidence)):g}%"

    def check(self, method: str, metric: str, group: str | None = None) -> MetricComparison | None:
        return next((c for c in self.comparisons if c.identity == (method, metric, group)), None)

    def probe_flags(self) -> dict[str, tuple[ProbeFlag, ...]]:
        """Per probe, its values beyond the limit of a check that did not pass, worst first (the
        checks that failed before those that warned, then the farthest beyond the limit)."""
        checks = {c.key: c for c in self.comparisons if c.verdict != "pass" and c.group is None}
        flags: dict[str, tuple[ProbeFlag, ...]] = {}
        for probe in self.probes:
            values = [(d.method, d.metric, d.delta) for d in probe.deltas]
            values += [(d.method, metric, similarity) for d in probe.drift
                       for metric, similarity in ((DRIFT_SPEARMAN, d.spearman), (DRIFT_TOP_OVERLAP, d.top_overlap))]
            found = []
            for method, metric, value in values:
                check = checks.get((method, metric))
                if check is None:
                    continue
                beyond = beyond_limit(value, check.direction, check.tolerance, check.is_drift)
                if beyond > 0:
                    found.append(ProbeFlag(method, metric, value, check.verdict, beyond))
            if found:
                found.sort(key=lambda f: (-VERDICT_ORDER[f.check_verdict], -f.beyond, f.method, f.metric))
                flags[probe.probe_key] = tuple(found)
        return flags

    # ---- save, load, diff ------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, with the type id and format version that `from_dict` checks."""
        body = asdict(self)
        body["settings"] = dict(self.settings)
        return {"type": TYPE_ID, "version": FORMAT_VERSION, **body}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ComparisonResult":
        """Load what `to_dict` wrote, in this or any earlier format version."""
        if data.get("type") != TYPE_ID:
            raise ComparisonError(f"not a stored comparison (type {data.get('type')!r}, expected {TYPE_ID!r})")
        version = data.get("version")
        if not isinstance(version, int) or version < 1:
            raise ComparisonError(f"stored comparison has no valid format version: {version!r}")
        if version > FORMAT_VERSION:
            raise ComparisonError(f"stored comparison is format version {version}, newer than this "
                                  f"code reads ({FORMAT_VERSION}): upgrade mllm-audit")
        body = dict(data)
        while version < FORMAT_VERSION:
            body = _UPGRADES[version](body)
            version += 1
        try:
            return cls(
                candidate_run_id=int(body["candidate_run_id"]),
                baseline_run_id=int(body["baseline_run_id"]),
                verdict=body["verdict"],
                headline=str(body["headline"]),
                reasons=tuple(body["reasons"]),
                comparisons=tuple(MetricComparison(**c) for c in body["comparisons"]),
                probes=tuple(_probe_from_dict(p) for p in body["probes"]),
                n_probes_compared=_count(body["n_probes_compared"]),
                n_words_compared=_count(body["n_words_compared"]),
                n_words_candidate_only=_count(body["n_words_candidate_only"]),
                n_words_baseline_only=_count(body["n_words_baseline_only"]),
                skipped=tuple(body.get("skipped", ())),
                settings=dict(body.get("settings", {})),
                locus=tuple(LocusFinding.from_dict(x) for x in body.get("locus", ())),
                attention_shift=tuple(AttentionShift.from_dict(x) for x in body.get("attention_shift", ())),
                counterfactual=tuple(CounterfactualSummary.from_dict(x) for x in body.get("counterfactual", ())),
            )
        except (KeyError, TypeError) as exc:
            raise ComparisonError(f"stored comparison (format version {FORMAT_VERSION}) is incomplete: {exc}") from exc

    def diff(self, other: "ComparisonResult") -> ResultDiff:
        """Which checks changed verdict from this comparison to `other` (added or removed checks
        count as changes, with None on the side that lacks them)."""
        before = {c.identity: c.verdict for c in self.comparisons}
        after = {c.identity: c.verdict for c in other.comparisons}
        changes = tuple(
            CheckChange(method, metric, before.get(ident), after.get(ident), group)
            for ident in sorted(set(before) | set(after), key=lambda i: (i[0], i[1], i[2] or ""))
            for method, metric, group in (ident,)
            if before.get(ident) != after.get(ident)
        )
        return ResultDiff(self.verdict, other.verdict, changes)


def _count(value: Any) -> int | None:
    return None if value is None else int(value)


def _probe_from_dict(p: Mapping[str, Any]) -> ProbeComparison:
    return ProbeComparison(
        probe_key=p["probe_key"],
        candidate_text=p["candidate_text"],
        baseline_text=p["baseline_text"],
        shared_words=tuple(p["shared_words"]),
        candidate_only_words=tuple(p["candidate_only_words"]),
        baseline_only_words=tuple(p["baseline_only_words"]),
        deltas=tuple(ProbeDelta(**d) for d in p["deltas"]),
        drift=tuple(ProbeDrift(**d) for d in p["drift"]),
    )
