"""The tamper-evident ledger on SQLite and PostgreSQL: every completed run, verdict and sign-off is
chained when it is written; a row edited by hand with SQL (one of each kind, and the ledger row
itself) is named as the first broken link; concurrent appends never fork the chain."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import text

from storage.ledger import genesis_hash
from storage.records import ComparisonRecord, SignoffRecord, VerdictRecord
from storage.repository import AuditRepository
from tests.storage.factories import METHODS, model_version, probe_result, probe_set


def completed_run(repo: AuditRepository, version: str = "1", config: dict | None = None) -> int:
    mv = repo.get_or_create_model_version(model_version(version=version, weights_hash=version * 64))
    record, probes = probe_set(3)
    ps = repo.get_or_create_probe_set(record, probes)
    run = repo.start_run(mv.id, ps.id, config or {"methods": list(METHODS)}, {"torch": "2.13.0"}, "git:abc")
    repo.add_probe_results(run.id, [probe_result(p.probe_key, seed=int(version)) for p in probes])
    repo.finish_run(run.id, "completed")
    return run.id


def verdict(candidate: int, baseline: int) -> VerdictRecord:
    check = ComparisonRecord(candidate, baseline, "tam", "obj_iou", -0.2, -0.3, -0.1, 12, 0.05, "fail")
    return VerdictRecord(candidate, baseline, "fail", "TAM's Obj-IoU fell by 0.2.", ("TAM's Obj-IoU fell by 0.2.",),
                         {"default_tolerance": 0.05}, {"type": "x", "version": 1, "delta": 0.1}, (check,))


@pytest.fixture
def chained(repo: AuditRepository) -> dict[str, int]:
    """v1 and v2 audited, v2 judged against v1 (fail), then a reviewer's override: five links."""
    base = completed_run(repo, "1")
    cand = completed_run(repo, "2")
    stored = repo.add_verdict(verdict(cand, base))
    v2 = repo.find_model_version("demo-captioner", "2")
    signoff = repo.add_signoff(SignoffRecord(v2.id, "Ada", "approved", "accepted risk: demo only", True, cand, "fail"))
    return {"base": base, "cand": cand, "verdict": stored.id, "signoff": signoff.id}


def test_each_run_verdict_and_signoff_is_one_link_chained_to_the_one_before(repo, chained):
    entries = repo.ledger_entries("demo-captioner")
    assert [(e.sequence, e.kind, e.reference) for e in entries] == [
        (1, "run", chained["base"]), (2, "run", chained["cand"]), (3, "verdict", chained["verdict"]),
        (4, "signoff", chained["signoff"])]
    assert entries[0].previous_hash == genesis_hash("demo-captioner")
    assert all(later.previous_hash == earlier.entry_hash for earlier, later in zip(entries, entries[1:]))
    assert not any(e.late for e in entries)
    report = repo.verify_chain("demo-captioner")
    assert report.intact and report.n_entries == 4 and report.head_hash == entries[-1].entry_hash
    assert "verifies: 4 entries" in report.sentence()


def test_a_rerun_or_second_judgement_adds_no_link(repo, chained):
    repo.finish_run(chained["cand"], "completed")  # finishing again: already chained
    repo.add_verdict(verdict(chained["cand"], chained["base"]))  # the stored verdict comes back
    assert len(repo.ledger_entries("demo-captioner")) == 4
    assert repo.verify_chain("demo-captioner").intact


def _json(repo: AuditRepository, value: object) -> str:
    return "CAST(:v AS JSONB)" if repo.backend == "postgresql" else ":v"


# (description, SQL template with {json} where a JSON value goes, parameters, kind, reference key, part)
EDITS = [
    ("run config", "UPDATE audit_runs SET config = {json} WHERE id = :id", {"v": json.dumps({"methods": ["tam"]})},
     "run", "cand", "config"),
    ("a token map", "UPDATE token_attributions SET peak_row = 0, peak_col = 0 WHERE run_id = :id AND token_index = 0",
     {}, "run", "cand", "maps"),
    ("an answer", "UPDATE generations SET text = 'a blue square' WHERE run_id = :id", {}, "run", "cand", "generations"),
    ("a metric", "UPDATE metrics SET value = 0.99 WHERE run_id = :id", {}, "run", "cand", "metrics"),
    ("verdict reasons", "UPDATE verdicts SET reasons = {json} WHERE id = :id", {"v": json.dumps(["all fine"])},
     "verdict", "verdict", "judgement"),
    ("a check's CI", "UPDATE comparisons SET ci_high = 0.5 WHERE verdict_id = :id", {}, "verdict", "verdict",
     "comparisons"),
    ("a sign-off note", "UPDATE signoffs SET note = 'no risk' WHERE id = :id", {}, "signoff", "signoff", "decision"),
    ("a sign-off's override flag", "UPDATE signoffs SET override = false WHERE id = :id", {}, "signoff", "signoff",
     "decision"),
]


@pytest.mark.parametrize("what, sql, params, kind, ref, part", EDITS, ids=[e[0] for e in EDITS])
def test_a_row_edited_with_sql_is_the_first_broken_link_and_what_changed_is_named(repo, chained, what, sql, params,
                                                                                  kind, ref, part):
    with repo.engine.begin() as conn:
        conn.execute(text(sql.format(json=_json(repo, None))), {"id": chained[ref], **params})
    report = repo.verify_chain("demo-captioner")
    assert not report.intact
    broken = report.broken
    assert (broken.kind, broken.reference, broken.changed_parts) == (kind, chained[ref], (part,))
    assert f"{kind} {chained[ref]}" in broken.sentence() and "changed after it was chained" in broken.problem


def test_the_first_of_two_edits_is_the_one_named(repo, chained):
    with repo.engine.begin() as conn:
        conn.execute(text("UPDATE signoffs SET reviewer = 'Eve' WHERE id = :id"), {"id": chained["signoff"]})
        conn.execute(text("UPDATE metrics SET value = value + 1 WHERE run_id = :id"), {"id": chained["base"]})
    broken = repo.verify_chain("demo-captioner").broken
    assert (broken.sequence, broken.kind, broken.reference) == (1, "run", chained["base"])


def test_an_edited_or_removed_ledger_row_breaks_the_chain(repo, chained):
    with repo.engine.begin() as conn:
        conn.execute(text("UPDATE ledger_entries SET reference = :other WHERE kind = 'run' AND reference = :id"),
                     {"id": chained["cand"], "other": chained["cand"] + 100})
    broken = repo.verify_chain("demo-captioner").broken
    assert broken.sequence == 2 and "ledger entry itself was edited" in broken.problem
    with repo.engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger_entries WHERE sequence = 2"))
    broken = repo.verify_chain("demo-captioner").broken
    assert broken.sequence == 3 and "place 2 was expected" in broken.problem


def test_a_deleted_row_is_named(repo, chained):
    with repo.engine.begin() as conn:
        conn.execute(text("DELETE FROM signoffs WHERE id = :id"), {"id": chained["signoff"]})
    broken = repo.verify_chain("demo-captioner").broken
    assert broken.kind == "signoff" and "was deleted" in broken.problem


def test_a_run_stored_without_its_link_is_chained_late_at_first_use(repo):
    """As a run stored before the ledger existed: its link is missing until the model's next append."""
    first = completed_run(repo, "1")
    with repo.engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger_entries"))
    report = repo.verify_chain("demo-captioner")
    assert report.intact and report.n_entries == 0 and report.unchained == (("run", first),)
    second = completed_run(repo, "2")
    entries = repo.ledger_entries("demo-captioner")
    assert [(e.kind, e.reference, e.late) for e in entries] == [("run", first, True), ("run", second, False)]
    report = repo.verify_chain("demo-captioner")
    assert report.intact and report.n_late == 1 and report.unchained == ()
    assert "1 chained late" in report.sentence()


def test_two_models_have_separate_chains(repo):
    completed_run(repo, "1")
    other = repo.get_or_create_model_version(model_version(name="other", weights_hash="f" * 64))
    assert repo.ledger_entries("other") == [] and other.name == "other"
    assert repo.verify_chain("other").head_hash == genesis_hash("other") != genesis_hash("demo-captioner")


def test_concurrent_audits_of_one_model_never_fork_the_chain(db_url):
    """Four writers, each with its own connection pool, finish runs of one model at the same moment."""
    with AuditRepository(db_url) as setup:
        mv_ids = [setup.get_or_create_model_version(model_version(version=str(v), weights_hash=str(v) * 64)).id
                  for v in range(1, 5)]
        record, probes = probe_set(3)
        ps = setup.get_or_create_probe_set(record, probes)
        runs = []
        for i, mv in enumerate(mv_ids):
            run = setup.start_run(mv, ps.id, {"methods": list(METHODS)})
            setup.add_probe_results(run.id, [probe_result(p.probe_key, seed=i) for p in probes])
            runs.append(run.id)
    barrier, errors = threading.Barrier(len(runs)), []

    def finish(run_id: int) -> None:
        try:
            with AuditRepository(db_url) as mine:
                barrier.wait(timeout=30)
                mine.finish_run(run_id, "completed")
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=finish, args=(r,)) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    with AuditRepository(db_url) as check:
        entries = check.ledger_entries("demo-captioner")
        assert [e.sequence for e in entries] == [1, 2, 3, 4]
        assert sorted(e.reference for e in entries) == sorted(runs)
        assert len({e.previous_hash for e in entries}) == 4  # no two links claim the same predecessor
        assert check.verify_chain("demo-captioner").intact
