"""Runs part: a run is found by identity and resumed, finished with timings, listed."""

from __future__ import annotations

import pytest

from storage.errors import StorageInputError
from storage.hashing import config_hash
from storage.repository import AuditRepository
from tests.storage.factories import METHODS, is_aware_utc, model_version, probe_result


def test_start_run_records_everything_with_utc_times(repo: AuditRepository, run) -> None:
    assert run.status == "running" and run.resume_count == 0
    assert run.config == {"methods": list(METHODS), "seed": 0}
    assert run.config_hash == config_hash({"seed": 0.0, "methods": ("tam", "msea_arc")})
    assert run.package_versions == {"torch": "2.13.0"} and run.code_version == "abc123"
    assert is_aware_utc(run.started_at) and run.finished_at is None
    assert repo.get_run(run.id) == run


def test_start_run_resumes_same_identity_and_separates_other_configs(repo: AuditRepository, run) -> None:
    assert repo.add_probe_result(run.id, probe_result("p000"))
    resumed = repo.start_run(run.model_version_id, run.probe_set_id, {"seed": 0, "methods": ["tam", "msea_arc"]})
    assert resumed.id == run.id and resumed.resume_count == 1 and resumed.status == "running"
    assert resumed.code_version == "abc123"  # first start's versions are kept
    assert repo.completed_probe_keys(run.id) == {"p000"}
    other = repo.start_run(run.model_version_id, run.probe_set_id, {"seed": 1, "methods": list(METHODS)})
    assert other.id != run.id and repo.completed_probe_keys(other.id) == set()


def test_failed_run_is_resumed_and_completed_run_is_returned_as_is(repo: AuditRepository, run) -> None:
    failed = repo.finish_run(run.id, "failed", {"generate_s": 1.0}, error="out of memory")
    assert failed.status == "failed" and failed.error == "out of memory" and is_aware_utc(failed.finished_at)
    resumed = repo.start_run(run.model_version_id, run.probe_set_id, run.config)
    assert resumed.status == "running" and resumed.error is None and resumed.finished_at is None
    done = repo.finish_run(run.id, "completed", {"explain_s": 2.0})
    assert done.timings == {"generate_s": 1.0, "explain_s": 2.0}
    again = repo.start_run(run.model_version_id, run.probe_set_id, run.config)
    assert again.status == "completed" and again.resume_count == done.resume_count
    with pytest.raises(StorageInputError, match="finishes as one of"):
        repo.finish_run(run.id, "running")


def test_list_runs(repo: AuditRepository, run) -> None:
    other_mv = repo.get_or_create_model_version(model_version(name="other"))
    other = repo.start_run(other_mv.id, run.probe_set_id, run.config)
    assert [r.id for r in repo.list_runs()] == [other.id, run.id]
    assert [r.id for r in repo.list_runs("demo-captioner")] == [run.id]
    assert repo.list_runs("nobody") == []
    assert repo.list_runs(status="completed") == []  # still running
    repo.finish_run(run.id, "completed")
    assert [r.id for r in repo.list_runs(status="completed")] == [run.id]


def test_unstorable_config_is_refused(repo: AuditRepository, run) -> None:
    with pytest.raises(StorageInputError, match="cannot be stored as JSON"):
        repo.start_run(run.model_version_id, run.probe_set_id, {"fn": object()})
    with pytest.raises(StorageInputError, match="finite"):
        repo.start_run(run.model_version_id, run.probe_set_id, {"x": float("inf")})
