"""What the ledger hashes of each chained row: one digest per part, read back from the database.

Why parts: verification must say what changed ("the run's token maps"), not only that something
did, so each row is hashed as a few named parts and the entry keeps every part's digest. Why read
back with Core selects (never the ORM objects in the session): the digest taken when a row is
chained and the one recomputed later must come from the same read path, so a value's spelling in
Python before it was written (a datetime's precision, a float in a JSON column) cannot differ from
what the database hands back.

Operational fields are left out on purpose: a run's timings, resume count, update time and report
location, and a version's aliases, change legitimately after the audit result is final.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.hashing import canonical_hash
from storage.models import (
    AuditRun,
    Comparison,
    Generation,
    Metric,
    ModelVersion,
    Probe,
    ProbeSet,
    Signoff,
    TokenAttribution,
    Verdict,
)

#: plain words for each part, used when verification names what changed
PART_WORDS = {
    "identity": "identity (model version, weights hash, probe set, config hash, start time, code version)",
    "config": "configuration (methods and settings)",
    "status": "status",
    "generations": "generated answers",
    "maps": "token maps",
    "metrics": "metric values",
    "pair": "candidate and baseline runs",
    "judgement": "verdict, headline and reasons",
    "settings": "comparison settings",
    "result": "stored comparison result",
    "comparisons": "per-check deltas and CIs",
    "decision": "reviewer, decision, note and override",
    "audit": "audit the decision was made on",
    "version": "model version",
    "recorded_at": "time it was recorded",
}


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _stream_digest(rows: Iterable[Any]) -> str:
    """sha256 over rows, each framed by its length, so row boundaries cannot be shifted."""
    digest = hashlib.sha256()
    for row in rows:
        data = row if isinstance(row, bytes) else json.dumps(row, sort_keys=True, separators=(",", ":"),
                                                              ensure_ascii=False).encode("utf-8")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def run_owner(session: Session, run_id: int) -> str | None:
    return session.execute(
        select(ModelVersion.name).join(AuditRun, AuditRun.model_version_id == ModelVersion.id).where(AuditRun.id == run_id)
    ).scalar_one_or_none()


def verdict_owner(session: Session, verdict_id: int) -> str | None:
    run_id = session.execute(select(Verdict.candidate_run_id).where(Verdict.id == verdict_id)).scalar_one_or_none()
    return None if run_id is None else run_owner(session, run_id)


def signoff_owner(session: Session, signoff_id: int) -> str | None:
    return session.execute(
        select(ModelVersion.name).join(Signoff, Signoff.model_version_id == ModelVersion.id).where(Signoff.id == signoff_id)
    ).scalar_one_or_none()


def run_content(session: Session, run_id: int) -> dict[str, str] | None:
    """Digests of a completed run: its identity, config, status, answers, maps and metrics."""
    t = AuditRun.__table__.c
    run = session.execute(
        select(t.model_version_id, t.probe_set_id, t.config_hash, t.config, t.status, t.started_at,
               t.code_version, t.package_versions).where(t.id == run_id)
    ).one_or_none()
    if run is None:
        return None
    mv = ModelVersion.__table__.c
    model = session.execute(select(mv.name, mv.version, mv.weights_hash, mv.architecture)
                            .where(mv.id == run.model_version_id)).one()
    ps = ProbeSet.__table__.c
    probes = session.execute(select(ps.name, ps.version, ps.content_hash, ps.n_probes, ps.source, ps.licence)
                             .where(ps.id == run.probe_set_id)).one()
    identity = {"model": list(model), "probe_set": list(probes), "config_hash": run.config_hash,
                "started_at": _iso(run.started_at), "code_version": run.code_version,
                "package_versions": run.package_versions}
    return {
        "identity": canonical_hash(identity, "a run identity"),
        "config": canonical_hash({"config": run.config}, "a run config"),
        "status": hashlib.sha256(run.status.encode()).hexdigest(),
        "generations": _generations_digest(session, run_id),
        "maps": _maps_digest(session, run_id),
        "metrics": _metrics_digest(session, run_id),
    }


def _generations_digest(session: Session, run_id: int) -> str:
    g = Generation.__table__.c
    rows = session.execute(
        select(Probe.probe_key, g.prompt, g.text, g.token_ids, g.tokens, g.word_index)
        .join(Probe, Probe.id == g.probe_id).where(g.run_id == run_id).order_by(Probe.probe_key)
    )
    return _stream_digest(list(row) for row in rows)


def _maps_digest(session: Session, run_id: int) -> str:
    a = TokenAttribution.__table__.c
    rows = session.execute(
        select(Probe.probe_key, a.method, a.token_index, a.grid_rows, a.grid_cols, a.peak_row, a.peak_col, a.map_data)
        .join(Probe, Probe.id == a.probe_id).where(a.run_id == run_id)
        .order_by(Probe.probe_key, a.method, a.token_index)
        .execution_options(yield_per=2000)
    )

    def framed() -> Iterable[bytes]:
        for *head, blob in rows:
            yield json.dumps(head, separators=(",", ":")).encode("utf-8")
            yield bytes(blob)

    return _stream_digest(framed())


def _metrics_digest(session: Session, run_id: int) -> str:
    m = Metric.__table__.c
    rows = session.execute(
        select(Probe.probe_key, m.method, m.metric, m.word, m.value, m.direction, m.metric_version)
        .outerjoin(Probe, Probe.id == m.probe_id).where(m.run_id == run_id)
        .order_by(func.coalesce(Probe.probe_key, ""), m.method, m.metric, func.coalesce(m.word, ""))
    )
    return _stream_digest([key, method, metric, word, float(value).hex(), direction, version]
                          for key, method, metric, word, value, direction, version in rows)


def verdict_content(session: Session, verdict_id: int) -> dict[str, str] | None:
    """Digests of a stored verdict: the runs it judges, its judgement, settings, result, checks."""
    v = Verdict.__table__.c
    row = session.execute(
        select(v.candidate_run_id, v.baseline_run_id, v.verdict, v.headline, v.reasons, v.settings, v.settings_hash,
               v.result, v.created_at).where(v.id == verdict_id)
    ).one_or_none()
    if row is None:
        return None
    c = Comparison.__table__.c
    checks = session.execute(
        select(c.method, c.metric, c.delta, c.ci_low, c.ci_high, c.n_pairs, c.tolerance, c.verdict)
        .where(c.verdict_id == verdict_id).order_by(c.method, c.metric)
    )
    return {
        "pair": canonical_hash({"candidate": row.candidate_run_id, "baseline": row.baseline_run_id,
                                "created_at": _iso(row.created_at)}, "a verdict pair"),
        "judgement": canonical_hash({"verdict": row.verdict, "headline": row.headline, "reasons": row.reasons},
                                    "a verdict judgement"),
        "settings": canonical_hash({"settings": row.settings, "hash": row.settings_hash}, "verdict settings"),
        "result": _stream_digest([row.result]),
        "comparisons": _stream_digest(
            [method, metric, float(delta).hex(), float(lo).hex(), float(hi).hex(), n, float(tol).hex(), verdict]
            for method, metric, delta, lo, hi, n, tol, verdict in checks),
    }


def signoff_content(session: Session, signoff_id: int) -> dict[str, str] | None:
    """Digests of a sign-off: who decided what (and why), on which audit, for which version, when."""
    s = Signoff.__table__.c
    row = session.execute(
        select(s.model_version_id, s.reviewer, s.decision, s.note, s.override, s.audit_run_id, s.audit_verdict,
               s.created_at).where(s.id == signoff_id)
    ).one_or_none()
    if row is None:
        return None
    mv = ModelVersion.__table__.c
    model = session.execute(select(mv.name, mv.version, mv.weights_hash).where(mv.id == row.model_version_id)).one()
    return {
        "decision": canonical_hash({"reviewer": row.reviewer, "decision": row.decision, "note": row.note,
                                    "override": bool(row.override)}, "a sign-off"),
        "audit": canonical_hash({"run": row.audit_run_id, "verdict": row.audit_verdict}, "a sign-off's audit"),
        "version": canonical_hash({"model": list(model)}, "a sign-off's version"),
        "recorded_at": canonical_hash({"at": _iso(row.created_at)}, "a sign-off's time"),
    }


CONTENT = {"run": run_content, "verdict": verdict_content, "signoff": signoff_content}
OWNER = {"run": run_owner, "verdict": verdict_owner, "signoff": signoff_owner}
