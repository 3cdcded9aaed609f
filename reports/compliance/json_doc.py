"""The dossier as a JSON document for machines, in the published, versioned format of
`compliance.schema.json` (shipped beside this module).

Why its own shape rather than the rendered blocks: a tool reading the dossier wants fields
(versions, audits, checks with their intervals, the chain) and not layout; the schema is the
contract. `SCHEMA_VERSION` changes with the format (minor: fields added; major: fields changed).
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from reports.compliance.data import AuditEntry, DossierData
from reports.compliance.document import Bullets, Heading, Paragraph
from reports.compliance.frameworks import frameworks
from reports.compliance.prose import methods_blocks
from reports.compliance.trend import trend_points
from storage.records import VerdictRecord

SCHEMA_ID = "mllm-audit/compliance"
SCHEMA_VERSION = "1.0"
SCHEMA_FILE = "compliance.schema.json"


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The published JSON Schema of the document."""
    return json.loads(resources.files("reports.compliance").joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


def _verdict(verdict: VerdictRecord, baseline_version: str | None) -> dict[str, Any]:
    return {
        "verdict": verdict.verdict, "headline": verdict.headline, "reasons": list(verdict.reasons),
        "settings": verdict.settings, "created_at": _iso(verdict.created_at),
        "baseline_run_id": verdict.baseline_run_id, "baseline_version": baseline_version,
        "checks": [{"method": c.method, "metric": c.metric, "delta": c.delta, "ci_low": c.ci_low, "ci_high": c.ci_high,
                    "n_pairs": c.n_pairs, "tolerance": c.tolerance, "verdict": c.verdict} for c in verdict.comparisons],
    }


def _audit(a: AuditEntry) -> dict[str, Any]:
    run, ps = a.run, a.probe_set
    return {
        "run_id": run.id, "version": a.version, "status": run.status, "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at), "code_version": run.code_version,
        "package_versions": dict(run.package_versions),
        "probe_set": {"name": ps.name, "version": ps.version, "content_hash": ps.content_hash, "n_probes": ps.n_probes,
                      "source": ps.source, "licence": ps.licence},
        "methods": list(a.methods), "explain_settings": dict(run.config.get("explain_settings", {})),
        "metric_options": dict(run.config.get("metric_options", {})), "config_hash": run.config_hash,
        "report_path": run.report_path,
        "verdict": None if a.verdict is None else _verdict(a.verdict, a.baseline_version),
        "aggregates": [{"method": m.method, "metric": m.metric, "value": m.value, "direction": m.direction}
                       for m in a.aggregates if m.word is None],
    }


def _methods() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for block in methods_blocks():
        if isinstance(block, Heading):
            out.append({"type": "heading", "text": block.text})
        elif isinstance(block, Paragraph):
            out.append({"type": "paragraph", "text": block.text})
        elif isinstance(block, Bullets):
            out.append({"type": "bullets", "items": list(block.items)})
    return out


def dossier_json(data: DossierData) -> dict[str, Any]:
    chain = data.chain
    broken = chain.broken
    return {
        "schema": SCHEMA_ID, "schema_version": SCHEMA_VERSION,
        "generated_at": _iso(data.generated_at), "generator": data.generator,
        "model": {"name": data.model_name, "versions": [
            {"version": v.version, "registered_at": _iso(v.registered_at), "first_stored_at": _iso(v.created_at),
             "weights_hash": v.weights_hash, "architecture": v.architecture, "aliases": list(v.aliases),
             "source_uri": v.source_uri, "mlflow_run_id": v.run_id,
             "in_registry": v.version not in data.versions_only_in_database} for v in data.versions]},
        "audits": [_audit(a) for a in data.audits],
        "trends": [{"metric": p.metric, "method": p.method, "version": p.version, "value": p.value, "run_id": p.run_id,
                    "probe_set": p.probe_set} for p in trend_points(data)],
        "open_alerts": [{"version": o.version, "run_id": o.alert.run_id, "verdict": o.alert.verdict,
                         "message": o.alert.message, "channels": list(o.alert.channels),
                         "created_at": _iso(o.alert.created_at)} for o in data.alerts],
        "signoffs": [{"version": data.version_of(s.model_version_id), "reviewer": s.reviewer, "decision": s.decision,
                      "note": s.note, "override": s.override, "audit_run_id": s.audit_run_id,
                      "audit_verdict": s.audit_verdict, "recorded_at": _iso(s.created_at)} for s in data.signoffs],
        "ledger": {
            "intact": chain.intact, "entries": chain.n_entries, "head_hash": chain.head_hash, "late": chain.n_late,
            "unchained": len(chain.unchained), "statement": chain.sentence(),
            "broken": None if broken is None else {
                "sequence": broken.sequence, "kind": broken.kind, "reference": broken.reference,
                "problem": broken.problem, "changed_parts": list(broken.changed_parts)},
            "links": [{"sequence": e.sequence, "kind": e.kind, "reference": e.reference, "content_hash": e.content_hash,
                       "previous_hash": e.previous_hash, "entry_hash": e.entry_hash, "late": e.late,
                       "created_at": _iso(e.created_at)} for e in data.ledger],
        },
        "methods": _methods(),
        "frameworks": [{"id": f.id, "name": f.name, "items": [
            {"item": i.item, "requirement": i.requirement, "coverage": i.coverage, "sections": list(i.sections),
             "note": i.note} for i in f.items]} for f in frameworks()],
    }
