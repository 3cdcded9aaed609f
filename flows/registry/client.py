"""The MLflow client, pointed at the configured store, and the registry's small operations.

Why MLflow and not our own table: teams already keep their model versions and aliases
(`champion`, `candidate`) there; the audit reads the same registry they deploy from. By default the
registry is a SQLite file plus an artifact folder under the data directory, so `mlflow ui
--backend-store-uri sqlite:///~/.mllm-audit/mlflow.db` shows it; any `MLFLOW_TRACKING_URI` (a real
tracking server, PostgreSQL) is honoured. The tags this project writes on a version are named here,
once (`TAG_*`).
"""

from __future__ import annotations

import os
import threading
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from flows.config import Settings, load_settings
from flows.errors import ModelNotFoundError, RegistryError
from flows.registry.reachability import apply_http_defaults, check_reachable
from flows.registry.uris import ResolvedModel

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient

TAG_WEIGHTS_HASH = "mllm_audit.weights_hash"
TAG_ARCHITECTURE = "mllm_audit.architecture"
TAG_VERDICT = "mllm_audit.verdict"
TAG_REPORT = "mllm_audit.report"
TAG_RUN_ID = "mllm_audit.run_id"
TAG_SIGNOFF = "mllm_audit.signoff"  # "approved", "approved (override)" or "rejected"
TAG_SIGNOFF_REVIEWER = "mllm_audit.signoff_reviewer"
TAG_SIGNOFF_AT = "mllm_audit.signoff_at"
TAG_LEDGER_HEAD = "mllm_audit.ledger_head"  # the model's chain head after the decision: an outside anchor

_CONFIGURE_LOCK = threading.Lock()


def check_registry(settings: Settings) -> None:
    """Fail in seconds, with a line per retry, when an HTTP tracking or registry server does not
    answer (`flows.registry.reachability`); bound MLflow's own HTTP retries for what follows."""
    apply_http_defaults()
    for uri in dict.fromkeys((settings.effective_tracking_uri, settings.effective_registry_uri)):
        check_reachable(uri)


def mlflow_client(settings: Settings) -> "MlflowClient":
    """Point MLflow at the configured tracking/registry store and return a client for it."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    check_registry(settings)
    import mlflow
    from mlflow import MlflowClient

    with _CONFIGURE_LOCK:
        if settings.uses_default_mlflow_store:
            settings.home.mkdir(parents=True, exist_ok=True)
        # MLflow's setters also write MLFLOW_TRACKING_URI / MLFLOW_REGISTRY_URI into os.environ;
        # left there, our own default would later read as the user's explicit choice (and follow
        # the process into every other data directory). Keep the environment as the user set it.
        saved = {key: os.environ.get(key) for key in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
        try:
            mlflow.set_tracking_uri(settings.effective_tracking_uri)
            mlflow.set_registry_uri(settings.effective_registry_uri)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    return MlflowClient(tracking_uri=settings.effective_tracking_uri, registry_uri=settings.effective_registry_uri)


def experiment_id(client: "MlflowClient", settings: Settings) -> str:
    experiment = client.get_experiment_by_name(settings.experiment_name)
    if experiment is not None:
        return experiment.experiment_id
    artifact_location = None
    if settings.uses_default_mlflow_store:
        settings.artifact_root.mkdir(parents=True, exist_ok=True)
        artifact_location = settings.artifact_root.resolve().as_uri()
    try:
        return client.create_experiment(settings.experiment_name, artifact_location=artifact_location)
    except Exception:  # created concurrently by another process
        experiment = client.get_experiment_by_name(settings.experiment_name)
        if experiment is None:
            raise
        return experiment.experiment_id


def is_missing(exc: Exception) -> bool:
    """True when MLflow's error means "no such model, version or alias"."""
    code = getattr(exc, "error_code", "") or ""
    text = str(exc).lower()
    return "RESOURCE_DOES_NOT_EXIST" in code or "not found" in text or "does not exist" in text


def to_resolved(client: "MlflowClient", name: str, mv: Any) -> ResolvedModel:
    """A `ResolvedModel` from an MLflow model version (nothing downloaded)."""
    tags = dict(mv.tags or {})
    aliases = tuple(getattr(mv, "aliases", None) or ())
    aliases_known = True
    if not aliases:
        # search_model_versions leaves aliases empty; the registered model knows them.
        try:
            registered = client.get_registered_model(name)
            aliases = tuple(sorted(a for a, v in (registered.aliases or {}).items() if str(v) == str(mv.version)))
        except Exception:
            aliases, aliases_known = (), False
    return ResolvedModel(
        name=name,
        version=str(mv.version),
        run_id=mv.run_id,
        source_uri=f"models:/{name}/{mv.version}",
        weights_hash=tags.get(TAG_WEIGHTS_HASH, ""),
        architecture=tags.get(TAG_ARCHITECTURE, ""),
        aliases=tuple(sorted(aliases)),
        aliases_known=aliases_known,
        registered_at=_registry_time(getattr(mv, "creation_timestamp", None)),
    )


def _registry_time(milliseconds: Any) -> datetime | None:
    """MLflow's creation timestamp (milliseconds since the epoch) as an aware UTC datetime."""
    if not isinstance(milliseconds, (int, float)) or isinstance(milliseconds, bool):
        return None
    return datetime.fromtimestamp(milliseconds / 1000, tz=timezone.utc)


def list_versions(name: str, settings: Settings | None = None) -> list[ResolvedModel]:
    """Every version of a registered model, oldest first (nothing downloaded)."""
    settings = settings or load_settings()
    client = mlflow_client(settings)
    try:
        client.get_registered_model(name)
    except Exception as exc:
        if is_missing(exc):
            raise ModelNotFoundError(f"no registered model named {name!r} in {settings.effective_registry_uri}") from exc
        raise RegistryError(f"model registry error for {name!r}: {exc}") from exc
    versions = client.search_model_versions(f"name = '{name}'")
    return sorted((to_resolved(client, name, mv) for mv in versions), key=lambda r: int(r.version))


def find_version_by_weights(name: str, digest: str, settings: Settings | None = None) -> ResolvedModel | None:
    """The version of `name` registered with these exact weights, if any (so reruns never duplicate)."""
    try:
        versions = list_versions(name, settings)
    except ModelNotFoundError:
        return None
    return next((v for v in versions if v.weights_hash == digest), None)


def set_alias(name: str, alias: str, version: str, settings: Settings | None = None) -> None:
    client = mlflow_client(settings or load_settings())
    try:
        client.set_registered_model_alias(name, alias, str(version))
    except Exception as exc:
        if is_missing(exc):
            raise ModelNotFoundError(f"cannot set alias {alias!r}: {name!r} has no version {version}") from exc
        raise RegistryError(f"cannot set alias {alias!r} on {name}/{version}: {exc}") from exc


def set_version_tags(client: "MlflowClient", name: str, version: str, tags: dict[str, str]) -> None:
    """Set tags on a registered version (the one place this project writes version tags)."""
    for key, value in tags.items():
        client.set_model_version_tag(name, str(version), key, value)
