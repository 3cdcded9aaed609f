"""Migrations: fresh databases are created, older ones upgraded in place, newer ones refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from storage.errors import SchemaError, SchemaNotManagedError, SchemaOutdatedError, SchemaTooNewError
from storage.migrate import VERSION_TABLE, current_revision, head_revision, known_revisions, upgrade
from storage.models import Base
from storage.repository import AuditRepository
from tests.storage.factories import model_version, probe_result, probe_set

ALL_TABLES = {
    "model_versions",
    "probe_sets",
    "probes",
    "audit_runs",
    "generations",
    "token_attributions",
    "metrics",
    "verdicts",
    "comparisons",
    "alerts",
}



def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names()) & ALL_TABLES
            return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in sorted(tables)}
    finally:
        engine.dispose()


def test_fresh_database_is_migrated_on_first_use(db_url: str) -> None:
    assert current_revision(db_url) is None
    with AuditRepository(db_url):
        pass
    assert current_revision(db_url) == head_revision()
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            assert ALL_TABLES | {VERSION_TABLE} <= set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_is_idempotent(db_url: str) -> None:
    assert upgrade(db_url) == head_revision()
    assert upgrade(db_url) == head_revision()
    assert current_revision(db_url) == head_revision()


@pytest.mark.filterwarnings("ignore:.*expression-based index:UserWarning")
@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_migrated_schema_matches_the_models(db_url: str) -> None:
    upgrade(db_url)
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            # SQLite cannot reflect the expression index autogenerate would compare: check it by name
            assert "uq_metrics_value" in {
                ix["name"] for ix in inspect(conn).get_indexes("metrics")
            } or conn.execute(text("SELECT count(*) FROM sqlite_master WHERE name = 'uq_metrics_value'")).scalar_one()
            context = MigrationContext.configure(conn, opts={"compare_type": True, "version_table": VERSION_TABLE})
            diff = [d for d in compare_metadata(context, Base.metadata) if d[0] != "remove_table" or d[1].name != VERSION_TABLE]
    finally:
        engine.dispose()
    assert diff == []


def test_older_schema_is_upgraded_in_place_keeping_data(db_url: str) -> None:
    first = known_revisions()[0]
    assert first != head_revision(), "needs at least two revisions to test an upgrade"
    assert upgrade(db_url, first) == first
    # write data with the old schema: the tables of the first revision are enough for a run
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO model_versions (name, version, source_uri, weights_hash, architecture, aliases, created_at) "
                "VALUES ('old', '1', 'models:/old/1', 'h', 'A', '[]', '2026-01-01 00:00:00+00:00')"
            )
        )
    engine.dispose()
    before = _counts(db_url)
    assert "comparisons" not in before

    with AuditRepository(db_url, upgrade_outdated=True) as repo:
        old = repo.find_model_version("old", "1")
        assert old is not None and old.created_at is not None and old.created_at.tzinfo is not None
        mv = repo.get_or_create_model_version(model_version())
        record, probes = probe_set(2)
        ps = repo.get_or_create_probe_set(record, probes)
        run = repo.start_run(mv.id, ps.id, {"k": 1})
        assert repo.add_probe_result(run.id, probe_result("p000"))
    after = _counts(db_url)
    assert current_revision(db_url) == head_revision()
    assert after["model_versions"] == before["model_versions"] + 1
    assert after["comparisons"] == 0


def test_outdated_schema_is_not_upgraded_behind_the_users_back_when_asked(db_url: str) -> None:
    upgrade(db_url, known_revisions()[0])
    with pytest.raises(SchemaOutdatedError, match="mllm-audit db upgrade"):
        AuditRepository(db_url, upgrade_outdated=False)
    assert current_revision(db_url) == known_revisions()[0]


def test_postgresql_default_is_explicit_upgrade_sqlite_default_is_automatic(db_url: str) -> None:
    upgrade(db_url, known_revisions()[0])
    if db_url.startswith("sqlite"):
        AuditRepository(db_url).close()
        assert current_revision(db_url) == head_revision()
    else:
        with pytest.raises(SchemaOutdatedError):
            AuditRepository(db_url)
        assert current_revision(db_url) == known_revisions()[0]


def test_newer_schema_is_refused_and_nothing_is_written(db_url: str) -> None:
    with AuditRepository(db_url) as repo:
        repo.get_or_create_model_version(model_version())
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999_from_the_future'"))
    engine.dispose()
    before = _counts(db_url)

    with pytest.raises(SchemaTooNewError, match="9999_from_the_future") as excinfo:
        AuditRepository(db_url)
    assert "\n" not in str(excinfo.value)
    with pytest.raises(SchemaTooNewError):
        upgrade(db_url)
    assert _counts(db_url) == before
    assert current_revision(db_url) == "9999_from_the_future"


def test_tables_without_version_are_not_adopted(db_url: str) -> None:
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE audit_runs (id INTEGER PRIMARY KEY, something TEXT)"))
    engine.dispose()
    with pytest.raises(SchemaNotManagedError, match="audit_runs|mllm-audit table names"):
        AuditRepository(db_url)
    assert _counts(db_url) == {"audit_runs": 0}


def test_downgrade_is_refused(db_url: str) -> None:
    upgrade(db_url)
    with pytest.raises(SchemaError, match="downgrades are not supported"):
        upgrade(db_url, known_revisions()[0])
    with pytest.raises(ValueError, match="unknown schema revision"):
        upgrade(db_url, "nope")


def test_migrations_ship_inside_the_package() -> None:
    import storage

    package_dir = Path(storage.__file__).parent
    assert (package_dir / "migrations" / "env.py").is_file()
    assert not (package_dir / "alembic.ini").exists()
    assert known_revisions()[0].startswith("0001")
