"""The facade: every part's methods on one object, and missing ids named in the error."""

from __future__ import annotations

import pytest

from storage.errors import NotFoundError
from storage.repository import AuditRepository


def test_missing_ids_raise_not_found(repo: AuditRepository) -> None:
    with pytest.raises(NotFoundError, match="audit run 42"):
        repo.get_run(42)
    with pytest.raises(NotFoundError):
        repo.completed_probe_keys(42)
    with pytest.raises(NotFoundError):
        repo.get_model_version(42)
    with pytest.raises(NotFoundError):
        repo.get_probe_set(42)
    with pytest.raises(NotFoundError, match="model version 42"):
        repo.start_run(42, 42, {})


def test_the_public_api_is_the_parts_together() -> None:
    public = {name for name in dir(AuditRepository) if not name.startswith("_")}
    assert public == {
        "url", "backend", "engine", "close",
        "get_or_create_model_version", "get_model_version", "find_model_version", "list_model_versions",
        "get_or_create_probe_set", "find_complete_probe_set", "get_probe_set", "list_probes",
        "start_run", "finish_run", "get_run", "list_runs", "set_report_path",
        "completed_probe_keys", "add_probe_result", "add_probe_results", "set_aggregate_metrics",
        "get_generations", "get_maps", "get_metrics",
        "add_verdict", "get_verdicts", "latest_verdict", "get_comparisons", "add_alert", "get_alerts",
        "add_signoff", "list_signoffs", "verify_chain", "chain_pending", "ledger_entries",
    }


def test_the_facade_names_its_database(tmp_path) -> None:
    with AuditRepository(f"sqlite:///{tmp_path / 'a.db'}") as repo:
        assert repo.url == f"sqlite:///{tmp_path / 'a.db'}" and repo.backend == "sqlite"
