"""Gather a dossier's data from an `AuditRepository`: every stored version of the model, every
audit with its stored verdict, the open alerts, the sign-offs and the ledger's verification.

Open alerts: an alert on a version's latest audit that no sign-off of that version has answered
since (a reviewer's decision after the alert closes it); alerts on older audits are superseded.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from reports.compliance.data import AuditEntry, DossierData, OpenAlert
from storage.records import AuditRunRecord, ModelVersionRecord, SignoffRecord

_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


def _run_order(run: AuditRunRecord) -> tuple[datetime, int]:
    return (run.started_at or _EPOCH, run.id or 0)


def load_dossier_data(repo: Any, model_name: str, *, generator: str = "",
                      registry_versions: tuple[str, ...] | None = None) -> DossierData:
    """Read everything the dossier shows about `model_name` (the chain is verified, never repaired
    here). `registry_versions`: the versions the registry lists now (to mark stored ones it dropped)."""
    versions = tuple(repo.list_model_versions(model_name))
    by_id = {v.id: v for v in versions}
    order = {v.version: i for i, v in enumerate(versions)}
    runs = sorted(repo.list_runs(model_name=model_name), key=_run_order)
    audits = [_audit(repo, run, by_id) for run in runs]
    audits.sort(key=lambda a: (order.get(a.version, len(order)), _run_order(a.run)))
    signoffs = tuple(repo.list_signoffs(model_name))
    gone = tuple(v.version for v in versions if registry_versions is not None and v.version not in registry_versions)
    return DossierData(
        model_name=model_name, versions=versions, audits=tuple(audits),
        alerts=tuple(_open_alerts(repo, audits, signoffs, by_id)), signoffs=signoffs,
        chain=repo.verify_chain(model_name), ledger=tuple(repo.ledger_entries(model_name)),
        generated_at=datetime.now(timezone.utc), generator=generator, versions_only_in_database=gone,
    )


def _audit(repo: Any, run: AuditRunRecord, by_id: dict[int, ModelVersionRecord]) -> AuditEntry:
    verdict = repo.latest_verdict(run.id) if run.status == "completed" else None
    baseline_version = None
    if verdict is not None:
        baseline_run = repo.get_run(verdict.baseline_run_id)
        baseline_model = by_id.get(baseline_run.model_version_id) or repo.get_model_version(baseline_run.model_version_id)
        baseline_version = baseline_model.version
    return AuditEntry(run=run, version=by_id[run.model_version_id].version, probe_set=repo.get_probe_set(run.probe_set_id),
                      verdict=verdict, baseline_version=baseline_version,
                      aggregates=tuple(repo.get_metrics(run.id, aggregate_only=True)))


def _open_alerts(repo: Any, audits: list[AuditEntry], signoffs: tuple[SignoffRecord, ...],
                 by_id: dict[int, ModelVersionRecord]) -> list[OpenAlert]:
    latest: dict[str, AuditEntry] = {}
    for audit in audits:
        if audit.run.status == "completed":
            latest[audit.version] = audit
    found = []
    for version, audit in latest.items():
        decided = [s.created_at for s in signoffs
                   if by_id[s.model_version_id].version == version and s.created_at is not None]
        for alert in repo.get_alerts(audit.run.id):
            if not any(alert.created_at is not None and at > alert.created_at for at in decided):
                found.append(OpenAlert(alert=alert, version=version))
    return found
