"""Verdicts part: a verdict is stored whole (with its comparisons, reasons and settings), once per
settings; alerts are stored as sent."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, func, select

from storage.errors import NotFoundError, StorageInputError
from storage.models import AuditRun, Comparison
from storage.records import AlertRecord, AuditRunRecord, ComparisonRecord, VerdictRecord
from storage.repository import AuditRepository
from tests.storage.factories import is_aware_utc, model_version

SETTINGS = {"default_tolerance": 0.05, "drift": {"affects_verdict": False, "min_spearman": 0.3}, "seed": 0}


@pytest.fixture
def candidate(repo: AuditRepository, run: AuditRunRecord) -> AuditRunRecord:
    """A second run (version 2) on the same probe set: the candidate judged against `run`."""
    mv2 = repo.get_or_create_model_version(model_version(version="2"))
    return repo.start_run(mv2.id, run.probe_set_id, run.config)


def _comparison(candidate_id: int, baseline_id: int, method: str, metric: str, verdict: str, delta: float) -> ComparisonRecord:
    return ComparisonRecord(candidate_id, baseline_id, method, metric, delta, delta - 0.1, delta + 0.1, 5, 0.05, verdict)  # type: ignore[arg-type]


def _verdict(candidate_id: int, baseline_id: int, settings: dict | None = None) -> VerdictRecord:
    """A PASS whose drift comparison failed: drift does not count under these settings."""
    return VerdictRecord(
        candidate_run_id=candidate_id,
        baseline_run_id=baseline_id,
        verdict="pass",
        headline="All 1 counted comparisons are within tolerance.",
        reasons=("All 1 counted comparisons are within tolerance.", "Compared 12 words on 5 probes."),
        settings=dict(SETTINGS if settings is None else settings),
        result={"type": "mllm_audit.comparison", "version": 1, "n_probes": 5, "ci": [0.25, 0.5]},
        comparisons=(
            _comparison(candidate_id, baseline_id, "tam", "pointing_game", "pass", -0.01),
            _comparison(candidate_id, baseline_id, "tam", "map_drift_spearman", "fail", 0.1),
        ),
    )


def _sha256_of_canonical_json(value: dict) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _comparison_rows(repo: AuditRepository) -> int:
    with repo.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Comparison)).scalar_one()


def test_a_verdict_is_stored_whole_and_read_back_as_judged(repo: AuditRepository, run, candidate) -> None:
    given = _verdict(candidate.id, run.id)
    stored = repo.add_verdict(given)
    assert stored.id is not None and is_aware_utc(stored.created_at)
    assert stored.settings_hash == _sha256_of_canonical_json(SETTINGS)
    # the verdict the audit returned, not the worst of its comparisons (drift did not count)
    assert stored.verdict == "pass" and any(c.verdict == "fail" for c in stored.comparisons)
    assert (stored.headline, stored.reasons, stored.settings, stored.result) == (
        given.headline, given.reasons, given.settings, given.result)
    assert [(c.method, c.metric, c.verdict, c.delta) for c in stored.comparisons] == [
        ("tam", "map_drift_spearman", "fail", 0.1), ("tam", "pointing_game", "pass", -0.01)]
    assert {c.verdict_id for c in stored.comparisons} == {stored.id}
    assert all(c.id is not None and is_aware_utc(c.created_at) for c in stored.comparisons)

    assert repo.get_verdicts(candidate.id) == [stored]
    assert repo.latest_verdict(candidate.id) == stored
    assert repo.latest_verdict(candidate.id, run.id) == stored
    assert repo.latest_verdict(candidate.id, candidate.id) is None
    assert repo.latest_verdict(run.id) is None and repo.get_verdicts(run.id) == []
    assert repo.get_comparisons(candidate.id) == list(stored.comparisons)


def test_the_same_settings_twice_return_the_stored_verdict_and_write_nothing(repo: AuditRepository, run, candidate) -> None:
    first = repo.add_verdict(_verdict(candidate.id, run.id))
    rows = _comparison_rows(repo)
    # the same settings in another key order and spelling (0 as 0.0) are the same settings
    respelled = {"seed": 0.0, "drift": {"min_spearman": 0.3, "affects_verdict": False}, "default_tolerance": 0.05}
    changed = dataclasses.replace(_verdict(candidate.id, run.id, respelled), verdict="fail", headline="other",
                                  comparisons=(_comparison(candidate.id, run.id, "msea", "obj_iou", "fail", -0.5),))
    again = repo.add_verdict(changed)
    assert again == first
    assert repo.get_verdicts(candidate.id) == [first] and _comparison_rows(repo) == rows


def test_other_settings_make_a_second_verdict_and_the_latest_is_the_newest(repo: AuditRepository, run, candidate) -> None:
    first = repo.add_verdict(_verdict(candidate.id, run.id))
    strict = dict(SETTINGS, drift={"affects_verdict": True, "min_spearman": 0.3})
    second = repo.add_verdict(dataclasses.replace(_verdict(candidate.id, run.id, strict), verdict="fail"))
    assert second.id != first.id and second.settings_hash != first.settings_hash
    assert repo.get_verdicts(candidate.id) == [first, second]
    assert repo.latest_verdict(candidate.id) == second
    assert repo.get_comparisons(candidate.id) == [*first.comparisons, *second.comparisons]


def test_a_given_created_at_is_kept_in_utc(repo: AuditRepository, run, candidate) -> None:
    when = datetime(2026, 11, 25, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    stored = repo.add_verdict(dataclasses.replace(_verdict(candidate.id, run.id), created_at=when))
    assert stored.created_at == when and stored.created_at.utcoffset() == timedelta(0)


def _bad_verdicts(candidate_id: int, baseline_id: int):
    good = _verdict(candidate_id, baseline_id)
    first = good.comparisons[0]
    return [
        (dataclasses.replace(good, verdict="meh"), "verdict must be one of"),
        (dataclasses.replace(good, comparisons=(dataclasses.replace(first, verdict="meh"),)), "verdict must be one of"),
        (dataclasses.replace(good, comparisons=(first, first)), "appears twice"),
        (dataclasses.replace(good, comparisons=(dataclasses.replace(first, baseline_run_id=candidate_id),)), "judges runs"),
        (dataclasses.replace(good, settings={"fn": object()}), "cannot be stored as JSON"),
        (dataclasses.replace(good, settings={"x": float("inf")}), "finite"),
        (dataclasses.replace(good, result={"x": float("nan")}), "finite"),
        (dataclasses.replace(good, settings_hash="0" * 64), "settings_hash"),
        (dataclasses.replace(good, headline=None), "headline"),
        (dataclasses.replace(good, reasons=("ok", 3)), "reasons"),
        (dataclasses.replace(good, created_at=datetime(2026, 1, 1)), "naive datetime"),
    ]


def test_bad_verdicts_are_refused_by_name_and_write_nothing(repo: AuditRepository, run, candidate) -> None:
    for bad, fragment in _bad_verdicts(candidate.id, run.id):
        with pytest.raises(StorageInputError, match=fragment):
            repo.add_verdict(bad)
    with pytest.raises(NotFoundError, match="audit run 987654"):
        repo.add_verdict(_verdict(candidate.id, 987654))
    assert repo.get_verdicts(candidate.id) == [] and _comparison_rows(repo) == 0
    with pytest.raises(NotFoundError, match="audit run 987654"):
        repo.get_verdicts(987654)


def test_comparisons_are_written_only_inside_a_verdict(repo: AuditRepository) -> None:
    assert not hasattr(repo, "add_comparisons")


def test_verdicts_and_their_comparisons_go_with_either_run(repo: AuditRepository, run, candidate) -> None:
    repo.add_verdict(_verdict(candidate.id, run.id))
    with repo.engine.begin() as conn:
        conn.execute(delete(AuditRun).where(AuditRun.id == run.id))  # the baseline
    assert repo.get_verdicts(candidate.id) == [] and _comparison_rows(repo) == 0


def test_concurrent_writers_of_one_verdict_store_it_once(repo: AuditRepository, run, candidate) -> None:
    given = _verdict(candidate.id, run.id)
    with ThreadPoolExecutor(max_workers=4) as pool:
        stored = list(pool.map(repo.add_verdict, [given] * 8))
    assert len({s.id for s in stored}) == 1
    assert len(repo.get_verdicts(candidate.id)) == 1 and _comparison_rows(repo) == len(given.comparisons)


def test_alerts_are_stored_as_sent(repo: AuditRepository, run) -> None:
    when = datetime(2026, 11, 25, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    alert = repo.add_alert(AlertRecord(run.id, "fail", "pointing game dropped", ("cli", "webhook"), {"delta": -0.2}, created_at=when))
    assert alert.id is not None and alert.created_at == when and alert.created_at.utcoffset() == timedelta(0)
    assert repo.get_alerts(run.id) == [alert]
    with pytest.raises(StorageInputError, match="verdict must be one of"):
        repo.add_alert(AlertRecord(run.id, "meh", "x"))  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        repo.add_alert(AlertRecord(987654, "warn", "x"))


def test_naive_datetimes_are_refused(repo: AuditRepository, run) -> None:
    with pytest.raises(StorageInputError, match="naive datetime"):
        repo.add_alert(AlertRecord(run.id, "warn", "x", created_at=datetime(2026, 1, 1)))
