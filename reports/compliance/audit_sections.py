"""The dossier's record of every audit: when, by which code, on which probe set, with which
methods and settings, against which baseline, the stored verdict with its reasons and intervals,
and where the report is.

Also the few formatting rules every section shares (times, hashes, settings), defined once here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reports.compliance.data import AuditEntry, DossierData
from reports.compliance.document import Block, Bullets, Facts, Heading, Paragraph, Section, Table
from storage.records import ComparisonRecord, VerdictRecord

NOT_RECORDED = "not recorded"


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else NOT_RECORDED


def short_hash(value: str | None, n: int = 16) -> str:
    return f"{value[:n]}..." if value and len(value) > n else (value or NOT_RECORDED)


def compact(settings: dict[str, Any]) -> str:
    """`key=value; ...` in key order (nested values as written): settings on one line."""
    return "; ".join(f"{key}={settings[key]}" for key in sorted(settings)) or "defaults"


def verdict_word(verdict: str | None) -> str:
    return verdict.upper() if verdict else "no verdict"


def audits_section(data: DossierData) -> Section:
    blocks: list[Block] = []
    for version in data.versions:
        blocks.append(Heading(f"Version {version.version}"))
        audits = data.audits_of(version.version)
        if not audits:
            blocks.append(Paragraph("Not audited.", "note"))
        for audit in audits:
            blocks.extend(_audit_blocks(audit))
    if not data.versions:
        blocks.append(Paragraph("No version of this model is stored in the audit database.", "note"))
    return Section("audits", "Audits of each version", tuple(blocks))


def _audit_blocks(audit: AuditEntry) -> list[Block]:
    run, ps = audit.run, audit.probe_set
    config = run.config
    facts = [
        ("Audit run", f"{run.id} ({run.status})"),
        ("Started / finished", f"{when(run.started_at)} / {when(run.finished_at)}"),
        ("Code version", run.code_version or NOT_RECORDED),
        ("Packages", compact(dict(run.package_versions))),
        ("Probe set", f"{ps.name} version {ps.version}, {ps.n_probes} probes"),
        ("Probe set content hash", ps.content_hash),
        ("Images from", ps.source or "not declared by the probe set"),
        ("Licence", ps.licence or "not declared by the probe set"),
        ("Methods", ", ".join(audit.methods) or NOT_RECORDED),
        ("Explain settings", compact(dict(config.get("explain_settings", {})))),
        ("Metric options", compact(dict(config.get("metric_options", {})))),
        ("Configuration hash", run.config_hash),
        ("Report", run.report_path or NOT_RECORDED),
    ]
    blocks: list[Block] = [Heading(f"Audit run {run.id} of version {audit.version}")]
    if audit.verdict is None:
        facts.append(("Baseline", "none: a reference audit, not compared with another version"))
        return blocks + [Facts(tuple(facts))]
    verdict = audit.verdict
    facts.append(("Baseline", f"version {audit.baseline_version}, audit run {verdict.baseline_run_id}"))
    facts.append(("Verdict stored", when(verdict.created_at)))
    facts.append(("Comparison settings", compact(dict(verdict.settings))))
    blocks.append(Facts(tuple(facts)))
    return blocks + verdict_blocks(verdict)


def verdict_blocks(verdict: VerdictRecord) -> list[Block]:
    """The stored verdict as it was made: headline, every reason, every check with its interval."""
    tone = {"pass": "good", "warn": "note", "fail": "bad"}.get(verdict.verdict, "body")
    blocks: list[Block] = [Paragraph(f"Verdict {verdict_word(verdict.verdict)}: {verdict.headline}", tone)]  # type: ignore[arg-type]
    if verdict.reasons:
        blocks.append(Bullets(tuple(verdict.reasons)))
    if verdict.comparisons:
        blocks.append(Table(
            ("Method", "Metric", "Change or similarity", "95% CI", "Pairs", "Limit", "Result"),
            tuple(_check_row(c) for c in verdict.comparisons),
            widths=(1.1, 1.9, 1.2, 1.6, 0.7, 0.8, 0.8),
            caption="Every check of this verdict (drift rows hold the similarity of the two versions' maps and its "
                    "minimum; other rows the mean paired change and its tolerance).",
        ))
    return blocks


def _check_row(c: ComparisonRecord) -> tuple[str, ...]:
    drift = c.metric.startswith("map_drift")
    number = "{:.3f}" if drift else "{:+.3f}"
    return (c.method, c.metric, number.format(c.delta),
            f"[{number.format(c.ci_low)}, {number.format(c.ci_high)}]", str(c.n_pairs),
            f"{'min ' if drift else ''}{c.tolerance:.3f}", c.verdict.upper())
