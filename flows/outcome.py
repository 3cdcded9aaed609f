"""What an audit returns to its caller (the CLI, a parent flow, a test).

Why a typed object: the command line needs the verdict, its reason and the report path even when
the flow ends in a failed state (a regression), and Prefect needs something small and picklable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from flows.registry import ResolvedModel

OutcomeVerdict = Literal["pass", "warn", "fail", "none"]


@dataclass(frozen=True)
class AuditOutcome:
    """The result of `audit_model_version`.

    `verdict` is "none" when there was no baseline to compare with (the run is then a reference
    audit, e.g. of the champion itself); `reason` is the verdict's headline, `reasons` every reason. `n_explained` counts probes explained by THIS invocation;
    `n_resumed` those found already stored (a resumed or repeated run). `undelivered_alerts`:
    "channel: error" for each alert channel that failed (the MLflow tag, the webhook, the Prefect
    event); the verdict stands, but whoever waits on that channel was not told.
    """

    run_id: int
    model: ResolvedModel
    probe_set_name: str
    probe_set_version: str
    probe_set_hash: str
    methods: tuple[str, ...]
    verdict: OutcomeVerdict
    reason: str
    n_probes: int
    n_explained: int
    n_resumed: int
    reasons: tuple[str, ...] = ()
    baseline_run_id: int | None = None
    baseline_uri: str | None = None
    report_html: str | None = None
    report_json: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    undelivered_alerts: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.verdict == "fail"

    @property
    def n_stored_by_others(self) -> int:
        """Probes neither explained here nor found stored at the start: another process auditing the
        same run (same version, probe set and configuration) stored them while this one ran."""
        return max(0, self.n_probes - self.n_explained - self.n_resumed)

    def progress_line(self) -> str:
        """Where the run's probes came from, e.g. `200 probes, 150 explained now, 50 already stored`,
        and any stored meanwhile by another process."""
        line = f"{self.n_probes} probes, {self.n_explained} explained now, {self.n_resumed} already stored"
        others = self.n_stored_by_others
        return line + (f", {others} stored meanwhile by another audit of the same run" if others else "")

    def markdown(self) -> str:
        """The Prefect UI's summary of the audit (verdict, headline, run, report, reasons)."""
        lines = [
            f"# mllm-audit: {self.model.name} v{self.model.version}",
            "",
            f"**Verdict: {self.verdict.upper()}** - {self.reason}",
            "",
            f"- audit run: {self.run_id}; probe set {self.probe_set_name}@{self.probe_set_version}"
            f" ({self.progress_line()})",
            f"- methods: {', '.join(self.methods)}",
            f"- baseline: {self.baseline_uri or 'none'} (run {self.baseline_run_id})",
            f"- report: `{self.report_html}`",
        ]
        lines += [f"- **alert not delivered**: {line}" for line in self.undelivered_alerts]
        return "\n".join(lines + [f"- {reason}" for reason in self.reasons[:20]])

    def summary_line(self) -> str:
        target = f"{self.model.name} v{self.model.version}"
        against = f" vs {self.baseline_uri}" if self.baseline_uri else ""
        return f"{target}{against}: {self.verdict.upper()} - {self.reason}"
