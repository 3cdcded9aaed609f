"""What the dossier says, section by section, decided once from a `DossierData`.

Every sentence here is built from stored records (or read from the fixed text in `text/`); the
renderers only lay it out. Section ids are stable: the framework mapping refers to them.
"""

from __future__ import annotations

from reports.compliance.audit_sections import (
    NOT_RECORDED,
    audits_section,
    short_hash,
    verdict_word,
    when,
)
from reports.compliance.data import KEY_METRICS, DossierData
from reports.compliance.document import Block, Document, Facts, Figure, Heading, Paragraph, Section, Table
from reports.compliance.frameworks import frameworks
from reports.compliance.prose import methods_blocks
from reports.compliance.trend import trend_png, trend_points

SECTION_IDS = ("summary", "versions", "audits", "trends", "alerts", "signoffs", "integrity", "methods",
               "frameworks")


def build_document(data: DossierData) -> Document:
    return Document(
        title=f"Compliance dossier: {data.model_name}",
        subtitle=(f"Every version of the registered model {data.model_name}, generated {when(data.generated_at)} "
                  f"from the audit database by mllm-audit {data.generator}".rstrip()),
        sections=(summary_section(data), versions_section(data), audits_section(data), trends_section(data),
                  alerts_section(data), signoffs_section(data), integrity_section(data),
                  Section("methods", "Methods and limitations", methods_blocks()), frameworks_section()),
    )


def chain_paragraph(data: DossierData) -> Paragraph:
    return Paragraph(data.chain.sentence(), "good" if data.chain.intact else "bad")


def summary_section(data: DossierData) -> Section:
    n_verdicts = sum(1 for a in data.audits if a.verdict is not None)
    rows = []
    for v in data.versions:
        audit = data.latest_audit(v.version)
        signoff = data.latest_signoff(v.version)
        rows.append((
            v.version, ", ".join(v.aliases) or "-",
            f"run {audit.run.id}, {when(audit.run.finished_at)}" if audit else "not audited",
            verdict_word(audit.verdict.verdict if audit and audit.verdict else None) if audit else "-",
            (f"{signoff.decision}{' (override)' if signoff.override else ''} by {signoff.reviewer}" if signoff
             else "no decision"),
        ))
    blocks: list[Block] = [
        Paragraph(f"{len(data.versions)} versions, {len(data.audits)} audits, {n_verdicts} stored verdicts, "
                  f"{len(data.signoffs)} sign-offs and {len(data.alerts)} open alerts. Every value in this dossier "
                  "is read from the audit database's stored records."),
        Table(("Version", "Aliases now", "Latest audit", "Its verdict", "Latest decision"), tuple(rows),
              widths=(0.8, 1.2, 2.2, 1.0, 2.4)),
        chain_paragraph(data),
    ]
    return Section("summary", "Summary", tuple(blocks))


def versions_section(data: DossierData) -> Section:
    rows = tuple(
        (v.version, when(v.registered_at), short_hash(v.weights_hash, 12), v.architecture or NOT_RECORDED,
         ", ".join(v.aliases) or "-", short_hash(v.run_id, 12) if v.run_id else NOT_RECORDED)
        for v in data.versions)
    blocks: list[Block] = [
        Table(("Version", "Registered", "Weights sha256", "Architecture", "Aliases now", "MLflow run"), rows,
              widths=(0.7, 1.7, 1.4, 2.7, 1.0, 1.4),
              caption="Registration time and aliases as the registry reported them when the dossier was written; the "
                      "weights hash (shortened here, in full in the JSON dossier) is checked against the registered "
                      "files on every download."),
    ]
    if data.versions_only_in_database:
        blocks.append(Paragraph("Stored here but no longer in the registry: version "
                                + ", ".join(data.versions_only_in_database) + ".", "note"))
    return Section("versions", "Model versions", tuple(blocks))


def trends_section(data: DossierData) -> Section:
    points = trend_points(data)
    if not points:
        return Section("trends", "Trends across versions", (Paragraph("No completed audit to plot yet.", "note"),))
    versions = [v.version for v in data.versions if any(p.version == v.version for p in points)]
    blocks: list[Block] = []
    png = trend_png(points, versions)
    if png is not None:
        blocks.append(Figure(png, caption=f"Key metrics of each version's latest audit on probe set {points[0].probe_set} "
                                          "(versions in version order; higher is better for all four).",
                             alt="Line charts of the key metrics per method across versions"))
    series = sorted({(p.metric, p.method) for p in points}, key=lambda s: (KEY_METRICS.index(s[0]), s[1]))
    rows = []
    for metric, method in series:
        values = {p.version: p.value for p in points if (p.metric, p.method) == (metric, method)}
        rows.append((metric, method, *(f"{values[v]:.3f}" if v in values else "-" for v in versions)))
    blocks.append(Table(("Metric", "Method", *(f"v{v}" for v in versions)), tuple(rows)))
    return Section("trends", "Trends across versions", tuple(blocks))


def alerts_section(data: DossierData) -> Section:
    if not data.alerts:
        return Section("alerts", "Open alerts", (Paragraph(
            "No open alerts: no alert on a version's latest audit is waiting for a reviewer's decision.", "good"),))
    rows = tuple((o.version, str(o.alert.run_id), when(o.alert.created_at), o.alert.verdict.upper(), o.alert.message,
                  ", ".join(o.alert.channels) or "-") for o in data.alerts)
    return Section("alerts", "Open alerts", (
        Paragraph("Alerts raised on a version's latest audit that no sign-off of that version has answered since.",
                  "note"),
        Table(("Version", "Run", "Raised", "Verdict", "Message", "Sent to"), rows, widths=(0.7, 0.5, 1.4, 0.7, 3.6, 1.4)),
    ))


def signoffs_section(data: DossierData) -> Section:
    rows = tuple(
        (data.version_of(s.model_version_id), when(s.created_at), s.reviewer,
         s.decision.upper() + (" (OVERRIDE of a failed audit)" if s.override else ""),
         f"run {s.audit_run_id}: {verdict_word(s.audit_verdict)}" if s.audit_run_id else "not audited",
         s.note or "-")
        for s in data.signoffs)
    blocks: list[Block] = []
    if rows:
        blocks.append(Table(("Version", "Recorded", "Reviewer", "Decision", "On audit", "Note"), rows,
                            widths=(0.7, 1.4, 1.1, 1.6, 1.3, 2.9)))
    else:
        blocks.append(Paragraph("No decision recorded yet.", "note"))
    overrides = [s for s in data.signoffs if s.override]
    if overrides:
        blocks.append(Paragraph(f"{len(overrides)} approval(s) overrode a failed audit; the reviewer's note says why.",
                                "bad"))
    blocks.append(Paragraph(f"Record a decision with: mllm-audit signoff models:/{data.model_name}/VERSION --reviewer "
                            "NAME --decision approved|rejected --note TEXT (approving a version whose latest audit "
                            "failed needs --override and a note).", "note"))
    return Section("signoffs", "Sign-off", tuple(blocks))


def integrity_section(data: DossierData) -> Section:
    chain = data.chain
    facts = Facts((
        ("Entries", str(chain.n_entries)),
        ("Head hash", chain.head_hash),
        ("Chained late", f"{chain.n_late} (stored before the ledger existed, chained at first use)"),
        ("Not chained yet", str(len(chain.unchained))),
        ("Check it", f"mllm-audit compliance verify models:/{data.model_name}"),
    ))
    rows = tuple((str(e.sequence), e.kind, str(e.reference), when(e.created_at), "yes" if e.late else "-",
                  short_hash(e.entry_hash, 24)) for e in data.ledger)
    blocks: list[Block] = [chain_paragraph(data), facts]
    if rows:
        blocks.append(Table(("#", "Kind", "Row", "Chained", "Late", "Entry hash"), rows,
                            widths=(0.4, 0.8, 0.5, 1.6, 0.5, 2.4)))
    return Section("integrity", "Tamper evidence", tuple(blocks))


def frameworks_section() -> Section:
    titles = dict(zip(SECTION_IDS, ("Summary", "Model versions", "Audits", "Trends", "Open alerts", "Sign-off",
                                     "Tamper evidence", "Methods and limitations", "Framework mapping")))
    blocks: list[Block] = [Paragraph(
        "Which sections of this dossier support which items of the EU AI Act's Annex IV technical documentation and "
        "of the NIST AI RMF MEASURE function, and which items the dossier does not cover. Support means evidence "
        "for the item within mllm-audit's scope (explanation quality across versions), not that the item is met.")]
    for framework in frameworks():
        blocks.append(Heading(framework.name))
        blocks.append(Table(
            ("Item", "Requirement", "Coverage", "Sections", "Note"),
            tuple((i.item, i.requirement, i.coverage, ", ".join(titles[s] for s in i.sections) or "-", i.note)
                  for i in framework.items),
            widths=(1.05, 2.4, 0.9, 1.2, 2.9)))
    return Section("frameworks", "Framework mapping", tuple(blocks))
