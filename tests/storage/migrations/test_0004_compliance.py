"""Migration 0004 on an old database (SQLite and PostgreSQL): the new columns are empty, runs and
verdicts stored before the ledger existed stay unchained until first use, then are chained late
and verify; a sign-off recorded afterwards is a normal link."""

from __future__ import annotations

from storage.migrate import head_revision, upgrade
from storage.records import SignoffRecord
from storage.repository import AuditRepository
from tests.storage.migrations.test_0003_verdicts import _columns, _old_database


def test_rows_from_before_the_ledger_are_chained_late_at_first_use(db_url: str) -> None:
    ids = _old_database(db_url)  # model "m": three completed runs, three verdicts (at revision 0002)
    assert upgrade(db_url) == head_revision() == "0004_compliance"
    assert {"registered_at"} <= _columns(db_url, "model_versions")
    assert {"source", "licence"} <= _columns(db_url, "probe_sets")
    assert {"report_path"} <= _columns(db_url, "audit_runs")

    with AuditRepository(db_url) as repo:
        assert repo.get_model_version(1).registered_at is None
        assert (repo.get_probe_set(ids["probe_set"]).source, repo.get_probe_set(ids["probe_set"]).licence) == (None, None)
        before = repo.verify_chain("m")
        assert before.intact and before.n_entries == 0
        assert sorted(kind for kind, _ in before.unchained) == ["run"] * 3 + ["verdict"] * 3

        assert repo.chain_pending("m") == 6
        entries = repo.ledger_entries("m")
        assert all(e.late for e in entries) and [e.sequence for e in entries] == list(range(1, 7))
        assert [(e.kind, e.reference) for e in entries][:2] == [("run", ids["r1"]), ("run", ids["r2"])]  # by time
        after = repo.verify_chain("m")
        assert after.intact and after.n_late == 6 and after.unchained == ()

        signoff = repo.add_signoff(SignoffRecord(1, "Ada", "rejected", "old model"))
        last = repo.ledger_entries("m")[-1]
        assert (last.kind, last.reference, last.late, last.sequence) == ("signoff", signoff.id, False, 7)
        assert repo.verify_chain("m").intact
