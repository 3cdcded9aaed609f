"""`watch_registry`: audit every version of a registered model that has no audit yet.

Why a flow of its own: the `registry-watch` deployment runs it on an interval, so a team only has
to register a version (and move `champion` when they promote one) for it to be audited against the
champion. "Already audited" means a COMPLETED run of that version on the same probe set (content
hash) with the same configuration, so changing the methods or the probe set audits everything
again, and a killed audit is resumed rather than skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prefect import flow, get_run_logger

from flows.audit import CHAMPION_ALIAS, audit_model_version
from flows.config import load_settings
from flows.defaults import resolve_probe_dir
from flows.errors import AuditRegressionError, ModelNotFoundError
from flows.identity import audit_config, check_methods
from flows.outcome import AuditOutcome
from flows.registry import ResolvedModel, list_versions, resolve_model
from flows.request import DEFAULT_BATCH_SIZE, AuditRequest
from flows.runners import default_task_runner
from flows.worker import probe_set_for, repository_for


@dataclass(frozen=True)
class WatchOutcome:
    """Which versions were audited by this pass, which were already done, and their verdicts."""

    model_name: str
    champion_version: str | None
    audited: tuple[AuditOutcome, ...]
    already_audited: tuple[str, ...]

    @property
    def failed_versions(self) -> tuple[str, ...]:
        return tuple(o.model.version for o in self.audited if o.failed)


def audited_versions(name: str, probe_dir: str, config: dict[str, Any], db_url: str | None) -> set[str]:
    """Versions of `name` with a completed run on this probe set and configuration."""
    from storage.hashing import config_hash

    repository = repository_for(db_url)
    wanted_hash = config_hash(config)
    set_hash = probe_set_for(probe_dir).content_hash
    versions: set[str] = set()
    set_hashes: dict[int, str] = {}
    for run in repository.list_runs(model_name=name):
        if run.status != "completed" or run.config_hash != wanted_hash:
            continue
        if run.probe_set_id not in set_hashes:
            set_hashes[run.probe_set_id] = repository.get_probe_set(run.probe_set_id).content_hash
        if set_hashes[run.probe_set_id] == set_hash:
            versions.add(str(repository.get_model_version(run.model_version_id).version))
    return versions


class WatchRegressionError(AuditRegressionError):
    """At least one version failed its audit; `watch` holds the whole pass."""

    def __init__(self, watch: WatchOutcome) -> None:
        self.watch = watch
        super().__init__(next(o for o in watch.audited if o.failed))
        self.args = (f"regression in version(s) {', '.join(watch.failed_versions)} of {watch.model_name}: "
                     f"{self.outcome.reason}",)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.watch,))


@flow(name="watch-registry", task_runner=default_task_runner(), log_prints=True)
def watch_registry(
    name: str,
    probe_set: str | None = None,
    methods: list[str] | None = None,
    db_url: str | None = None,
    home: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    explain_settings: dict[str, Any] | None = None,
    metric_options: dict[str, Any] | None = None,
    webhook_url: str | None = None,
    regression: dict[str, Any] | None = None,
    show_progress: bool = True,
) -> WatchOutcome:
    """Audit each not-yet-audited version of `name` against its `champion` alias.

    The champion itself is audited first (as the reference). A regression in one version does not
    stop the others; the flow run ends FAILED afterwards if any version failed.
    """
    logger = get_run_logger()
    settings = load_settings(home=home, db_url=db_url)
    db = settings.storage_url()
    chosen = check_methods(methods or settings.methods)
    probe_dir = resolve_probe_dir(probe_set, settings)
    explain_settings = dict(explain_settings or {})
    metric_options = dict(metric_options or {})
    config = audit_config(chosen, explain_settings, metric_options)

    versions = list_versions(name, settings)
    try:
        champion: ResolvedModel | None = resolve_model(f"models:/{name}@{CHAMPION_ALIAS}", settings, download=False)
    except ModelNotFoundError:
        champion = None
        logger.warning("%s has no '%s' alias: versions are audited without a baseline", name, CHAMPION_ALIAS)
    probe_set_for(probe_dir)  # read and so validated (ProbeSetError) before any version is audited
    done = audited_versions(name, probe_dir, config, db)
    pending = [v for v in versions if v.version not in done]
    if champion is not None:
        pending.sort(key=lambda v: (v.version != champion.version, int(v.version)))
    logger.info("%s: %d versions, %d already audited, %d to audit", name, len(versions), len(done), len(pending))

    outcomes: list[AuditOutcome] = []
    for version in pending:
        against_champion = champion is not None and champion.version != version.version
        request = AuditRequest(
            model_uri=version.source_uri, probe_set=probe_dir, methods=chosen, db_url=db, home=str(settings.home),
            batch_size=batch_size, explain_settings=explain_settings, metric_options=metric_options,
            webhook_url=webhook_url, regression=dict(regression or {}), show_progress=show_progress,
            baseline_uri=f"models:/{name}@{CHAMPION_ALIAS}" if against_champion else None, compare=against_champion,
        )
        try:
            outcomes.append(audit_model_version(**request.flow_parameters()))
        except AuditRegressionError as exc:
            outcomes.append(exc.outcome)
    result = WatchOutcome(
        model_name=name,
        champion_version=champion.version if champion else None,
        audited=tuple(outcomes),
        already_audited=tuple(sorted(done, key=int)),
    )
    if result.failed_versions:
        raise WatchRegressionError(result)
    return result
