"""`check_environment`: can this worker reach everything an audit needs?

Why a flow: after `prefect deploy`, running the `self-check` deployment on the work pool proves the
worker's environment (database URL, registry URI, data directory, probe set) before a nightly audit
depends on it. It loads no model, so it takes seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.config import load_settings
from flows.defaults import resolve_probe_dir


@dataclass(frozen=True)
class EnvironmentReport:
    home: str
    database: str
    schema_revision: str
    registry: str
    registered_models: tuple[str, ...]
    probe_set: str
    n_probes: int


@task(name="check-database", cache_policy=NO_CACHE)
def check_database(db_url: str) -> str:
    from storage.migrate import upgrade

    return upgrade(db_url)


@task(name="check-registry", cache_policy=NO_CACHE)
def check_registry(home: str) -> tuple[str, ...]:
    from flows.registry import mlflow_client

    client = mlflow_client(load_settings(home=home))
    return tuple(sorted(m.name for m in client.search_registered_models()))


@task(name="check-probe-set", cache_policy=NO_CACHE)
def check_probe_set(probe_dir: str) -> int:
    """The probe set read as an audit reads it (every file decoded); its number of probes."""
    from auditors.probes import load_probe_set

    return len(load_probe_set(probe_dir).probes)


@flow(name="check-environment", log_prints=True)
def check_environment(probe_set: str | None = None, db_url: str | None = None, home: str | None = None) -> EnvironmentReport:
    """Migrate/open the database, list the registry, validate the probe set; fail on any problem."""
    logger = get_run_logger()
    settings = load_settings(home=home, db_url=db_url)
    revision = check_database(settings.storage_url())
    models = check_registry(str(settings.home))
    probe_dir = resolve_probe_dir(probe_set, settings)
    n_probes = check_probe_set(probe_dir)
    report = EnvironmentReport(
        home=str(settings.home),
        database=settings.storage_url(),
        schema_revision=revision,
        registry=settings.effective_registry_uri,
        registered_models=models,
        probe_set=probe_dir,
        n_probes=n_probes,
    )
    logger.info("environment ok: %s", report)
    return report
