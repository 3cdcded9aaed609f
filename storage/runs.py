"""The runs part of the repository: start (or resume), finish, read and list audit runs.

Why a run is found before it is created: a run is identified by (model version, probe set,
config hash), so starting the same audit again resumes it (its stored probes stay) instead of
starting over, on any machine pointed at the same database.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.database import RepositoryPart
from storage.errors import NotFoundError, StorageInputError
from storage.hashing import canonical_config, config_hash
from storage.ledger import append
from storage.models import AuditRun, ModelVersion, ProbeSet
from storage.records import AuditRunRecord, RunStatus
from storage.types import utc_now

log = logging.getLogger(__name__)

_RUN_STATUSES = frozenset(get_args(RunStatus))
_FINAL_STATUSES = frozenset({"completed", "failed"})


class RunRepository(RepositoryPart):
    """Audit runs: their identity, status, timings and lineage."""

    def start_run(
        self,
        model_version_id: int,
        probe_set_id: int,
        config: Mapping[str, Any],
        package_versions: Mapping[str, str] | None = None,
        code_version: str = "",
    ) -> AuditRunRecord:
        """Start the run identified by (model version, probe set, config hash), or resume it.

        An existing unfinished or failed run of the same identity is set back to `running` and
        returned (its completed probes stay; `completed_probe_keys` tells what is left). A
        completed run is returned unchanged. Package and code versions of the first start are kept.
        """
        canonical = canonical_config(config)
        digest = config_hash(canonical)

        def work(session: Session) -> AuditRunRecord:
            if session.get(ModelVersion, model_version_id) is None:
                raise NotFoundError(f"model version {model_version_id} does not exist in {self._db.url}")
            if session.get(ProbeSet, probe_set_id) is None:
                raise NotFoundError(f"probe set {probe_set_id} does not exist in {self._db.url}")
            run = session.scalars(
                select(AuditRun).where(
                    AuditRun.model_version_id == model_version_id,
                    AuditRun.probe_set_id == probe_set_id,
                    AuditRun.config_hash == digest,
                )
            ).one_or_none()
            now = utc_now()
            if run is None:
                run = AuditRun(
                    model_version_id=model_version_id,
                    probe_set_id=probe_set_id,
                    config_hash=digest,
                    config=canonical,
                    status="running",
                    started_at=now,
                    updated_at=now,
                    package_versions=dict(package_versions or {}),
                    code_version=code_version,
                    timings={},
                    resume_count=0,
                )
                session.add(run)
                session.flush()
            elif run.status != "completed":
                if code_version and run.code_version and code_version != run.code_version:
                    log.warning("resuming run %s started with code %s using code %s", run.id, run.code_version, code_version)
                run.status = "running"
                run.finished_at = None
                run.error = None
                run.updated_at = now
                run.resume_count = run.resume_count + 1
            return _run_record(run)

        return self._db.get_or_create(work)

    def finish_run(
        self,
        run_id: int,
        status: RunStatus,
        timings: Mapping[str, float] | None = None,
        error: str | None = None,
    ) -> AuditRunRecord:
        """Mark a run `completed` or `failed`; timings are merged into the stored ones.

        A completed run is chained in the model's ledger in the same transaction (`storage.ledger`).
        """
        if status not in _FINAL_STATUSES:
            raise StorageInputError(f"a run finishes as one of {sorted(_FINAL_STATUSES)}, not {status!r}")
        with self._db.transaction() as session:
            run = self._db.run_row(session, run_id)
            now = utc_now()
            run.status = status
            run.finished_at = now
            run.updated_at = now
            run.timings = {**run.timings, **{k: float(v) for k, v in (timings or {}).items()}}
            run.error = error
            if status == "completed":
                session.flush()
                append(session, "run", run.id)
            return _run_record(run)

    def set_report_path(self, run_id: int, path: str) -> AuditRunRecord:
        """Record where the run's report was written (a location, not a result: never chained)."""
        with self._db.transaction() as session:
            run = self._db.run_row(session, run_id)
            run.report_path = str(path)
            return _run_record(run)

    def get_run(self, run_id: int) -> AuditRunRecord:
        with self._db.transaction() as session:
            return _run_record(self._db.run_row(session, run_id))

    def list_runs(
        self,
        model_name: str | None = None,
        *,
        probe_set_id: int | None = None,
        status: RunStatus | None = None,
    ) -> list[AuditRunRecord]:
        """Runs, newest first, optionally of one model (any version), one probe set, one status."""
        if status is not None and status not in _RUN_STATUSES:
            raise StorageInputError(f"run status must be one of {sorted(_RUN_STATUSES)}, not {status!r}")
        query = select(AuditRun).order_by(AuditRun.started_at.desc(), AuditRun.id.desc())
        if model_name is not None:
            query = query.join(ModelVersion, ModelVersion.id == AuditRun.model_version_id).where(
                ModelVersion.name == model_name
            )
        if probe_set_id is not None:
            query = query.where(AuditRun.probe_set_id == probe_set_id)
        if status is not None:
            query = query.where(AuditRun.status == status)
        with self._db.transaction() as session:
            return [_run_record(r) for r in session.scalars(query)]


def _run_record(r: AuditRun) -> AuditRunRecord:
    return AuditRunRecord(
        id=r.id,
        model_version_id=r.model_version_id,
        probe_set_id=r.probe_set_id,
        config_hash=r.config_hash,
        config=dict(r.config),
        status=r.status,  # type: ignore[arg-type]
        started_at=r.started_at,
        finished_at=r.finished_at,
        package_versions=dict(r.package_versions),
        code_version=r.code_version,
        timings=dict(r.timings),
        error=r.error,
        resume_count=r.resume_count,
        updated_at=r.updated_at,
        report_path=r.report_path,
    )
