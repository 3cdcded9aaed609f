"""A reviewer's decision on a model version: the approval rule, the stored record, the MLflow tags.

The rule: a version whose latest audit failed cannot be approved unless the reviewer says
`override` and writes a note saying why; an override is refused where there is no failure to
override (it would claim one). The decision is stored (and chained, `storage.ledger`) before the
version is tagged, so a registry that cannot be reached never loses a decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flows.config import Settings
from flows.convert import model_version_record
from flows.errors import FlowsInputError, RegistryError
from flows.worker import repository_for
from storage.records import AuditRunRecord, SignoffRecord, VerdictRecord

DECISIONS = ("approved", "rejected")


@dataclass(frozen=True)
class SignoffOutcome:
    record: SignoffRecord
    source_uri: str
    audit_run_id: int | None
    audit_verdict: str | None
    ledger_head: str
    tag_error: str | None = None  # None: the version was tagged


def latest_audit(repository: Any, model_name: str, model_version_id: int
                 ) -> tuple[AuditRunRecord | None, VerdictRecord | None]:
    """The version's most recent completed audit and that run's latest verdict."""
    runs = [r for r in repository.list_runs(model_name=model_name, status="completed")
            if r.model_version_id == model_version_id]
    if not runs:
        return None, None
    run = max(runs, key=lambda r: (r.finished_at or r.started_at, r.id))
    return run, repository.latest_verdict(run.id)


def check_decision(uri: str, decision: str, note: str, override: bool, run: AuditRunRecord | None,
                   verdict: VerdictRecord | None) -> None:
    """Raise `FlowsInputError` (one line) when the decision breaks the approval rule."""
    if decision not in DECISIONS:
        raise FlowsInputError(f"--decision must be approved or rejected, not {decision!r}")
    failed = verdict is not None and verdict.verdict == "fail"
    if override and decision != "approved":
        raise FlowsInputError("--override applies only to --decision approved")
    if override and not failed:
        state = f"verdict {verdict.verdict.upper()}" if verdict else "no verdict"
        raise FlowsInputError(f"--override is for approving a version whose latest audit failed; {uri}'s latest audit "
                              f"has {state}, so approve it without --override")
    if failed and decision == "approved" and not override:
        raise FlowsInputError(f"{uri}'s latest audit (run {run.id if run else '?'}) FAILED: {verdict.headline} "
                              "Approving it needs --override and a --note saying why")
    if override and not note.strip():
        raise FlowsInputError("--override needs a --note saying why the failed audit is accepted")


def record_signoff(model_uri: str, reviewer: str, decision: str, note: str, override: bool,
                   settings: Settings) -> SignoffOutcome:
    """Check the rule, store and chain the decision, tag the MLflow version."""
    from flows.registry import (TAG_LEDGER_HEAD, TAG_SIGNOFF, TAG_SIGNOFF_AT, TAG_SIGNOFF_REVIEWER, mlflow_client,
                                resolve_model, set_version_tags)

    if not reviewer.strip():
        raise FlowsInputError("--reviewer must name the person deciding")
    resolved = resolve_model(model_uri, settings, download=False)
    repository = repository_for(settings.storage_url())
    version = repository.get_or_create_model_version(model_version_record(resolved))
    run, verdict = latest_audit(repository, resolved.name, version.id)
    check_decision(resolved.source_uri, decision, note, override, run, verdict)
    stored = repository.add_signoff(SignoffRecord(
        model_version_id=version.id, reviewer=reviewer.strip(), decision=decision, note=note.strip(),  # type: ignore[arg-type]
        override=override, audit_run_id=run.id if run else None, audit_verdict=verdict.verdict if verdict else None))
    head = repository.ledger_entries(resolved.name)[-1].entry_hash
    tags = {TAG_SIGNOFF: decision + (" (override)" if override else ""), TAG_SIGNOFF_REVIEWER: stored.reviewer,
            TAG_SIGNOFF_AT: stored.created_at.isoformat(timespec="seconds") if stored.created_at else "",
            TAG_LEDGER_HEAD: head}
    tag_error = None
    try:
        set_version_tags(mlflow_client(settings), resolved.name, resolved.version, tags)
    except Exception as exc:  # noqa: BLE001 - the decision is stored; the caller reports the missing tag
        tag_error = str(RegistryError(f"{type(exc).__name__}: {exc}"))
    return SignoffOutcome(stored, resolved.source_uri, run.id if run else None, verdict.verdict if verdict else None,
                          head, tag_error)
