"""Session-wide test environment: offline, no telemetry, throwaway Prefect and MLflow homes.

Why here and not in each test: these variables must be set before transformers, Prefect, MLflow or
great-expectations are first imported, and the whole suite runs in one pytest process.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from flows.cli.guard import QUIET_ENVIRONMENT

_SESSION_TMP = Path(tempfile.mkdtemp(prefix="mllm-audit-tests-"))

_DEFAULT_ENV = {  # the command line's quiet offline environment, with throwaway homes
    **QUIET_ENVIRONMENT,
    "PREFECT_HOME": str(_SESSION_TMP / "prefect-home"),
    "MLLM_AUDIT_HOME": str(_SESSION_TMP / "mllm-audit-home"),
}
for _key, _value in _DEFAULT_ENV.items():
    os.environ.setdefault(_key, _value)
# A user's own server must never receive test runs: tests always use ephemeral Prefect.
os.environ.pop("PREFECT_API_URL", None)

REPO_ROOT = Path(__file__).resolve().parent.parent


def in_ci() -> bool:
    """CI=true turns 'service missing' from a local skip into a failure."""
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


def pytest_unconfigure(config: pytest.Config) -> None:
    """Silence logging-handler errors at interpreter exit.

    Why: Prefect's temporary API server logs "Stopping temporary server" from an atexit hook, after
    pytest has closed the captured streams its console handler writes to; the resulting
    "--- Logging error ---" tracebacks are noise, not test failures.
    """
    import logging

    logging.raiseExceptions = False
