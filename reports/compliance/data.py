"""Everything a compliance dossier shows, as typed records gathered from the audit database.

Why a dataclass the renderers take (rather than a repository): the three outputs (HTML, PDF, JSON)
are pure functions of the same `DossierData`, so they cannot disagree, and tests build it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from storage.ledger import ChainReport
from storage.records import (
    AlertRecord,
    AuditRunRecord,
    LedgerEntryRecord,
    MetricRecord,
    ModelVersionRecord,
    ProbeSetRecord,
    SignoffRecord,
    VerdictRecord,
)

#: the aggregate metrics the trend figure follows across versions (others stay in the tables)
KEY_METRICS = ("pointing_game", "obj_iou", "f1_iou", "energy_in_mask")


@dataclass(frozen=True)
class AuditEntry:
    """One audit of one version: the run, its probe set, its latest stored verdict and aggregates."""

    run: AuditRunRecord
    version: str
    probe_set: ProbeSetRecord
    verdict: VerdictRecord | None = None  # the run's latest stored verdict as candidate
    baseline_version: str | None = None  # the version of the verdict's baseline run
    aggregates: tuple[MetricRecord, ...] = ()

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(self.run.config.get("methods", ()))


@dataclass(frozen=True)
class OpenAlert:
    """An alert raised on a version's latest audit and not answered by a sign-off since."""

    alert: AlertRecord
    version: str


@dataclass(frozen=True)
class DossierData:
    """One model across all its versions: identity, audits, trends, alerts, decisions, integrity."""

    model_name: str
    versions: tuple[ModelVersionRecord, ...]  # version order
    audits: tuple[AuditEntry, ...]  # version order, then oldest first
    alerts: tuple[OpenAlert, ...]
    signoffs: tuple[SignoffRecord, ...]  # oldest first
    chain: ChainReport
    ledger: tuple[LedgerEntryRecord, ...]
    generated_at: datetime
    generator: str = ""  # the code version that wrote the dossier
    versions_only_in_database: tuple[str, ...] = field(default_factory=tuple)  # gone from the registry

    def version_of(self, model_version_id: int) -> str:
        for v in self.versions:
            if v.id == model_version_id:
                return v.version
        return f"(id {model_version_id})"

    def audits_of(self, version: str) -> list[AuditEntry]:
        return [a for a in self.audits if a.version == version]

    def latest_audit(self, version: str) -> AuditEntry | None:
        completed = [a for a in self.audits_of(version) if a.run.status == "completed"]
        return completed[-1] if completed else None

    def latest_signoff(self, version: str) -> SignoffRecord | None:
        mine = [s for s in self.signoffs if self.version_of(s.model_version_id) == version]
        return mine[-1] if mine else None
