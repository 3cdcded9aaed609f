"""Verdicts part: comparisons and alerts."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from storage.errors import NotFoundError, StorageInputError
from storage.records import AlertRecord, ComparisonRecord
from storage.repository import AuditRepository
from tests.storage.factories import is_aware_utc, model_version


def test_comparisons_are_upserted_and_alerts_stored(repo: AuditRepository, run) -> None:
    mv2 = repo.get_or_create_model_version(model_version(version="2"))
    candidate = repo.start_run(mv2.id, run.probe_set_id, run.config)
    comp = ComparisonRecord(candidate.id, run.id, "tam", "pointing_game", -0.2, -0.3, -0.1, 5, 0.05, "fail")
    stored = repo.add_comparisons([comp])
    assert stored[0].id is not None and is_aware_utc(stored[0].created_at)
    repo.add_comparisons([dataclasses.replace(comp, delta=-0.01, verdict="pass")])
    got = repo.get_comparisons(candidate.id)
    assert len(got) == 1 and got[0].verdict == "pass" and got[0].delta == -0.01
    with pytest.raises(StorageInputError, match="verdict"):
        repo.add_comparisons([dataclasses.replace(comp, verdict="meh")])

    when = datetime(2026, 11, 25, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    alert = repo.add_alert(AlertRecord(candidate.id, "fail", "pointing game dropped", ("cli", "webhook"), {"delta": -0.2}, created_at=when))
    assert alert.id is not None and alert.created_at == when and alert.created_at.utcoffset() == timedelta(0)
    assert repo.get_alerts(candidate.id) == [alert]
    with pytest.raises(NotFoundError):
        repo.add_alert(AlertRecord(987654, "warn", "x"))


def test_naive_datetimes_are_refused(repo: AuditRepository, run) -> None:
    with pytest.raises(StorageInputError, match="naive datetime"):
        repo.add_alert(AlertRecord(run.id, "warn", "x", created_at=datetime(2026, 1, 1)))
