"""Compliance dossiers from the flows' side: bring the registry's versions into the database,
chain rows stored before the ledger existed, write the dossier; as a function, a Prefect flow
(the `compliance-dossier` deployment) and a step that runs after every audit.

Why the registry is read here: the dossier covers every registered version, audited or not, with
its registration time and the aliases it has now; storage keeps what the registry said (the
version rows), so the dossier itself is rendered from stored records alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.config import Settings, load_settings
from flows.convert import model_version_record
from flows.identity import code_version
from flows.worker import repository_for

DOSSIER_FOLDER = "compliance"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DossierOutcome:
    """Where the dossier went and what it says about the chain."""

    model_name: str
    html: Path
    pdf: Path
    json: Path
    chain_statement: str
    chain_intact: bool
    chained_now: int  # rows chained at first use by this call (stored before the ledger existed)
    n_versions: int
    n_audits: int


def dossier_dir(settings: Settings, model_name: str) -> Path:
    """The default folder of a model's dossier: `<home>/compliance/<name>`."""
    return settings.home / DOSSIER_FOLDER / model_name


def sync_registry_versions(repository: Any, model_name: str, settings: Settings) -> tuple[str, ...]:
    """Store every registered version of the model (registration time, weights hash, architecture,
    aliases now); returns the versions the registry lists."""
    from flows.registry import list_versions

    versions = list_versions(model_name, settings)
    for resolved in versions:
        repository.get_or_create_model_version(model_version_record(resolved))
    return tuple(v.version for v in versions)


def write_dossier(model_name: str, settings: Settings, out_dir: str | Path | None = None) -> DossierOutcome:
    """Write `dossier.html`, `dossier.pdf` and `dossier.json` for every version of `model_name`."""
    from reports.compliance import build_dossier, load_dossier_data

    repository = repository_for(settings.storage_url())
    registry_versions = sync_registry_versions(repository, model_name, settings)
    chained = repository.chain_pending(model_name)
    data = load_dossier_data(repository, model_name, generator=code_version(), registry_versions=registry_versions)
    paths = build_dossier(data, Path(out_dir).expanduser() if out_dir else dossier_dir(settings, model_name))
    return DossierOutcome(model_name, paths.html, paths.pdf, paths.json, data.chain.sentence(), data.chain.intact,
                          chained, len(data.versions), len(data.audits))


@flow(name="compliance-dossier", log_prints=True)
def compliance_dossier(model_name: str, out_dir: str | None = None, home: str | None = None,
                       db_url: str | None = None) -> str:
    """Regenerate a model's dossier (scheduled by the `compliance-dossier` deployment); returns the
    HTML path."""
    outcome = write_dossier(model_name, load_settings(home=home, db_url=db_url), out_dir)
    get_run_logger().info("dossier of %s: %s (%s)", model_name, outcome.html, outcome.chain_statement)
    return str(outcome.html)


@task(name="regenerate-dossier", cache_policy=NO_CACHE)
def regenerate_dossier_task(model_name: str, home: str, db_url: str | None) -> str | None:
    """The audit's last step: the model's dossier on disk is current after every audit.

    Never fails the audit: a dossier that cannot be written is logged, and the audit's verdict,
    alert and report stand (`mllm-audit compliance` rebuilds it any time).
    """
    try:
        outcome = write_dossier(model_name, load_settings(home=home, db_url=db_url))
    except Exception as exc:  # noqa: BLE001 - see the docstring
        get_run_logger().warning("could not regenerate the dossier of %s: %s: %s", model_name,
                                 type(exc).__name__, exc)
        return None
    return str(outcome.html)
