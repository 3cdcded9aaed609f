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
