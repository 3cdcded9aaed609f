"""Fixtures for the storage suite: every `db_url` test runs on SQLite and on PostgreSQL.

PostgreSQL comes from `MLLM_AUDIT_TEST_PG_URL` (set it with `eval "$(scripts/ci/postgres.sh start)"`).
Each test gets its own freshly created database on that server, dropped afterwards. Without the
variable the PostgreSQL cases skip locally, and FAIL when `CI=true`: CI must never go green
without having exercised the real server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import in_ci
from tests.storage.factories import METHODS, model_version, probe_set

PG_ENV = "MLLM_AUDIT_TEST_PG_URL"
REPO_ROOT = Path(__file__).resolve().parents[2]


def postgres_server_url() -> str:
    """The server URL from the environment, or skip (locally) / fail (CI) when it is missing."""
    url = os.environ.get(PG_ENV, "").strip()
    if not url:
        message = f"{PG_ENV} is not set; start a server with: eval \"$(scripts/ci/postgres.sh start)\""
        if in_ci():
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)
    return url


@pytest.fixture
def pg_database_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (created and dropped on the test server)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = make_url(postgres_server_url())
    if server.drivername == "postgresql":
        server = server.set(drivername="postgresql+psycopg")
    name = f"mllm_audit_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # a set-but-broken server is a failure everywhere, never a skip
        admin.dispose()
        pytest.fail(f"cannot create a test database on {server.render_as_string(hide_password=True)}: {exc}")
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty database: a SQLite file in tmp_path, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.db'}"
    return request.getfixturevalue("pg_database_url")


@pytest.fixture
def subprocess_env() -> dict[str, str]:
    """Environment for helper scripts: the repository importable without an installed package."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


@pytest.fixture
def repo(db_url: str):
    """An `AuditRepository` on the empty database of `db_url` (both backends)."""
    from storage.repository import AuditRepository

    with AuditRepository(db_url) as repository:
        yield repository


@pytest.fixture
def run(repo):
    """A running audit of `demo-captioner` v1 on five probes."""
    mv = repo.get_or_create_model_version(model_version())
    record, probes = probe_set(5)
    ps = repo.get_or_create_probe_set(record, probes)
    return repo.start_run(mv.id, ps.id, {"methods": list(METHODS), "seed": 0}, {"torch": "2.13.0"}, "abc123")
