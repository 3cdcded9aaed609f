"""MLflow model registry access: register a saved model folder, resolve and load `models:/` URIs.

Why MLflow and not our own table: teams already keep their model versions and aliases
(`champion`, `candidate`) there; the audit reads the same registry they deploy from. By default the
registry is a SQLite file plus an artifact folder under the data directory, so `mlflow ui
--backend-store-uri sqlite:///~/.mllm-audit/mlflow.db` shows it; any `MLFLOW_TRACKING_URI` (a real
tracking server, PostgreSQL) is honoured.

Loading never goes through pickled Python: the registered artifact is the `save_pretrained` folder,
downloaded to a local cache and opened with `auditors.load_pretrained` (safetensors only, no remote
code). Its weights hash (sha256 over the safetensors files) is recorded at registration and checked
after every download, so a report's lineage names exactly the weights that were audited.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import threading
import uuid
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.artifact_links import fetch_artifacts
from flows.config import Settings, load_settings
from flows.errors import ModelNotFoundError, RegistryError, UnsupportedRegisteredModelError
from flows.mlflow_model import HF_DIR_ARTIFACT

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient

TAG_WEIGHTS_HASH = "mllm_audit.weights_hash"
TAG_ARCHITECTURE = "mllm_audit.architecture"
TAG_VERDICT = "mllm_audit.verdict"
MODEL_ARTIFACT_NAME = "model"

_URI_VERSION = re.compile(r"^models:/(?P<name>[^/@]+)/(?P<version>\d+|latest)$")
_URI_ALIAS = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[A-Za-z0-9_\-]+)$")
_CONFIGURE_LOCK = threading.Lock()


@dataclass(frozen=True)
class ResolvedModel:
    """One registered model version, identified and (once downloaded) on local disk."""

    name: str
    version: str
    run_id: str | None
    source_uri: str  # canonical "models:/<name>/<version>"
    weights_hash: str
    architecture: str
    local_dir: Path | None = None
    aliases: tuple[str, ...] = field(default_factory=tuple)

    @property
    def uri(self) -> str:
        return self.source_uri


@dataclass(frozen=True)
class ModelUri:
    name: str
    version: str | None = None
    alias: str | None = None


def parse_model_uri(uri: str) -> ModelUri:
    """`models:/name/3`, `models:/name/latest` or `models:/name@alias`; anything else is an input error."""
    text = uri.strip()
    if match := _URI_VERSION.match(text):
        return ModelUri(name=match["name"], version=match["version"])
    if match := _URI_ALIAS.match(text):
        return ModelUri(name=match["name"], alias=match["alias"])
    raise ModelNotFoundError(
        f"not a registered-model URI: {uri!r} (expected models:/<name>/<version> or models:/<name>@<alias>; "
        "register a folder first with `mllm-audit register DIR --name NAME`)"
    )


# ---- model folder inspection -------------------------------------------------------------------


def safetensors_files(model_dir: Path) -> list[Path]:
    return sorted(p for p in model_dir.rglob("*.safetensors") if p.is_file())


def weights_hash(model_dir: str | Path) -> str:
    """sha256 over (relative name, content) of every safetensors file, in name order."""
    root = Path(model_dir)
    files = safetensors_files(root)
    if not files:
        raise UnsupportedRegisteredModelError(f"no .safetensors weights in {root} (only safetensors are loaded)")
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def supported_architectures() -> tuple[str, ...]:
    """The model classes the auditors have adapters for (asked of `auditors`, never hard-coded here)."""
    import auditors

    getter = getattr(auditors, "supported_architectures", None)
    if getter is None:
        from auditors import adapters  # type: ignore[attr-defined]

        getter = adapters.supported_architectures
    return tuple(getter())


def inspect_model_dir(model_dir: str | Path) -> str:
    """Check a saved folder is a supported vision-language model; return its architecture.

    Why before registering: a registry entry that the audit cannot load would only fail hours
    later in a nightly run; refusing it at `register` names the problem where it is made.
    """
    root = Path(model_dir).expanduser()
    if not root.is_dir():
        raise UnsupportedRegisteredModelError(f"model folder not found: {root}")
    config_path = root / "config.json"
    if not config_path.is_file():
        raise UnsupportedRegisteredModelError(f"{root} is not a saved Hugging Face model folder (no config.json)")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UnsupportedRegisteredModelError(f"{config_path} is not valid JSON: {exc}") from exc
    architectures = config.get("architectures") or []
    if not safetensors_files(root):
        raise UnsupportedRegisteredModelError(
            f"no .safetensors weights in {root}: only safetensors are loaded (convert .bin weights first)"
        )
    supported = supported_architectures()
    matching = [a for a in architectures if a in supported]
    if not matching:
        raise UnsupportedRegisteredModelError(
            f"{root} holds {', '.join(architectures) or 'an unknown architecture'} "
            f"(model_type {config.get('model_type')!r}), not a supported vision-language model; "
            f"supported: {', '.join(supported)}"
        )
    return matching[0]


# ---- MLflow plumbing ---------------------------------------------------------------------------


def mlflow_client(settings: Settings) -> "MlflowClient":
    """Point MLflow at the configured tracking/registry store and return a client for it."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
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


def _experiment_id(client: "MlflowClient", settings: Settings) -> str:
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


def _is_missing(exc: Exception) -> bool:
    code = getattr(exc, "error_code", "") or ""
    text = str(exc).lower()
    return "RESOURCE_DOES_NOT_EXIST" in code or "not found" in text or "does not exist" in text


def _pip_requirements() -> list[str]:
    """Pinned requirements for the pyfunc model (inference of requirements crashes without torchvision)."""
    pins = []
    for dist in ("torch", "transformers", "tokenizers", "safetensors", "pillow", "numpy"):
        try:
            pins.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pins.append(dist)
    return pins


def _to_resolved(client: "MlflowClient", name: str, mv: Any, local_dir: Path | None = None) -> ResolvedModel:
    tags = dict(mv.tags or {})
    aliases = tuple(getattr(mv, "aliases", None) or ())
    if not aliases:
        # search_model_versions leaves aliases empty; the registered model knows them.
        try:
            registered = client.get_registered_model(name)
            aliases = tuple(sorted(a for a, v in (registered.aliases or {}).items() if str(v) == str(mv.version)))
        except Exception:
            aliases = ()
    return ResolvedModel(
        name=name,
        version=str(mv.version),
        run_id=mv.run_id,
        source_uri=f"models:/{name}/{mv.version}",
        weights_hash=tags.get(TAG_WEIGHTS_HASH, ""),
        architecture=tags.get(TAG_ARCHITECTURE, ""),
        local_dir=local_dir,
        aliases=tuple(sorted(aliases)),
    )


# ---- public API --------------------------------------------------------------------------------


def list_versions(name: str, settings: Settings | None = None) -> list[ResolvedModel]:
    """Every version of a registered model, oldest first (nothing downloaded)."""
    settings = settings or load_settings()
    client = mlflow_client(settings)
    try:
        client.get_registered_model(name)
    except Exception as exc:
        if _is_missing(exc):
            raise ModelNotFoundError(f"no registered model named {name!r} in {settings.effective_registry_uri}") from exc
        raise RegistryError(f"model registry error for {name!r}: {exc}") from exc
    versions = client.search_model_versions(f"name = '{name}'")
    resolved = [_to_resolved(client, name, mv) for mv in versions]
    return sorted(resolved, key=lambda r: int(r.version))


def find_version_by_weights(name: str, digest: str, settings: Settings | None = None) -> ResolvedModel | None:
    """The version of `name` registered with these exact weights, if any (so reruns never duplicate)."""
    try:
        versions = list_versions(name, settings)
    except ModelNotFoundError:
        return None
    matches = [v for v in versions if v.weights_hash == digest]
    return matches[0] if matches else None


def set_alias(name: str, alias: str, version: str, settings: Settings | None = None) -> None:
    settings = settings or load_settings()
    client = mlflow_client(settings)
    try:
        client.set_registered_model_alias(name, alias, str(version))
    except Exception as exc:
        if _is_missing(exc):
            raise ModelNotFoundError(f"cannot set alias {alias!r}: {name!r} has no version {version}") from exc
        raise RegistryError(f"cannot set alias {alias!r} on {name}/{version}: {exc}") from exc


def tag_model_version(resolved: ResolvedModel, key: str, value: str, settings: Settings | None = None) -> None:
    """Set a tag on a registered version (e.g. `mllm_audit.verdict=fail` after an audit)."""
    client = mlflow_client(settings or load_settings())
    try:
        client.set_model_version_tag(resolved.name, resolved.version, key, value)
    except Exception as exc:
        raise RegistryError(f"cannot tag {resolved.source_uri} with {key}={value}: {exc}") from exc


def register_model(
    model_dir: str | Path,
    name: str,
    alias: str | None = None,
    settings: Settings | None = None,
    reuse_existing: bool = True,
) -> ResolvedModel:
    """Register a saved vision-language model folder as a new version of `name`.

    With `reuse_existing` (the default) a folder whose weights are already registered under `name`
    returns that version instead of creating a duplicate; `alias` is (re)pointed at it either way.
    """
    import mlflow
    import mlflow.pyfunc

    from flows.mlflow_model import HFVisionLanguageModel

    settings = settings or load_settings()
    root = Path(model_dir).expanduser().resolve()
    architecture = inspect_model_dir(root)
    digest = weights_hash(root)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]*", name):
        raise ModelNotFoundError(f"invalid model name {name!r}: use letters, digits, '.', '_' and '-'")

    client = mlflow_client(settings)
    existing = find_version_by_weights(name, digest, settings) if reuse_existing else None
    if existing is not None:
        resolved = existing
    else:
        experiment_id = _experiment_id(client, settings)
        try:
            with mlflow.start_run(experiment_id=experiment_id, run_name=f"register-{name}") as run:
                mlflow.log_params({"weights_hash": digest, "architecture": architecture, "source_dir": str(root)})
                mlflow.set_tags({TAG_WEIGHTS_HASH: digest, TAG_ARCHITECTURE: architecture})
                # MLflow prints "Successfully registered model ..." to stderr; the caller reports
                # the version itself, so keep the terminal to one line per registration.
                with contextlib.redirect_stderr(io.StringIO()):
                    info = mlflow.pyfunc.log_model(
                        name=MODEL_ARTIFACT_NAME,
                        python_model=HFVisionLanguageModel(),
                        artifacts={HF_DIR_ARTIFACT: str(root)},
                        pip_requirements=_pip_requirements(),
                        registered_model_name=name,
                    )
            version = str(info.registered_model_version)
            client.set_model_version_tag(name, version, TAG_WEIGHTS_HASH, digest)
            client.set_model_version_tag(name, version, TAG_ARCHITECTURE, architecture)
        except Exception as exc:
            raise RegistryError(f"registering {root} as {name!r} failed: {exc}") from exc
        resolved = ResolvedModel(
            name=name,
            version=version,
            run_id=run.info.run_id,
            source_uri=f"models:/{name}/{version}",
            weights_hash=digest,
            architecture=architecture,
        )
    if alias:
        set_alias(name, alias, resolved.version, settings)
        resolved = replace(resolved, aliases=tuple(sorted(set(resolved.aliases) | {alias})))
    return resolved


def resolve_model(uri: str, settings: Settings | None = None, download: bool = True) -> ResolvedModel:
    """Look up a `models:/` URI; with `download`, fetch its folder into the local model cache."""
    settings = settings or load_settings()
    parsed = parse_model_uri(uri)
    client = mlflow_client(settings)
    try:
        client.get_registered_model(parsed.name)
    except Exception as exc:
        if _is_missing(exc):
            raise ModelNotFoundError(
                f"no registered model named {parsed.name!r} in {settings.effective_registry_uri}"
            ) from exc
        raise RegistryError(f"model registry unreachable or failing ({settings.effective_registry_uri}): {exc}") from exc
    try:
        if parsed.alias:
            mv = client.get_model_version_by_alias(parsed.name, parsed.alias)
        elif parsed.version == "latest":
            versions = client.search_model_versions(f"name = '{parsed.name}'")
            if not versions:
                raise ModelNotFoundError(f"registered model {parsed.name!r} has no versions")
            mv = max(versions, key=lambda v: int(v.version))
        else:
            mv = client.get_model_version(parsed.name, parsed.version)
    except ModelNotFoundError:
        raise
    except Exception as exc:
        what = f"alias {parsed.alias!r}" if parsed.alias else f"version {parsed.version}"
        if _is_missing(exc) or "alias" in str(exc).lower():
            raise ModelNotFoundError(f"registered model {parsed.name!r} has no {what}") from exc
        raise RegistryError(f"cannot resolve {uri}: {exc}") from exc
    resolved = _to_resolved(client, parsed.name, mv)
    if not resolved.architecture:
        raise UnsupportedRegisteredModelError(
            f"{resolved.source_uri} was not registered by mllm-audit (no {TAG_ARCHITECTURE} tag); "
            "register the saved model folder with `mllm-audit register`"
        )
    if resolved.architecture not in supported_architectures():
        raise UnsupportedRegisteredModelError(
            f"{resolved.source_uri} is a {resolved.architecture}, not a supported vision-language model; "
            f"supported: {', '.join(supported_architectures())}"
        )
    if download:
        resolved = replace(resolved, local_dir=download_model(resolved, settings))
    return resolved


def _find_hf_dir(download_root: Path) -> Path:
    candidates = sorted(p.parent for p in (download_root / "artifacts").rglob("config.json"))
    if not candidates:
        raise UnsupportedRegisteredModelError(
            f"the registered artifact has no saved model folder (artifacts/{HF_DIR_ARTIFACT}/config.json missing)"
        )
    return candidates[0]


def download_model(resolved: ResolvedModel, settings: Settings | None = None) -> Path:
    """Put the version's model folder in `<home>/models/<name>/<version>` (cached) and verify it."""
    settings = settings or load_settings()
    target = settings.model_cache_dir / resolved.name / resolved.version
    if target.is_dir() and (target / ".complete").is_file():
        hf_dir = _find_hf_dir(target)
        if (target / ".complete").read_text().strip() == resolved.weights_hash:
            return hf_dir
        shutil.rmtree(target, ignore_errors=True)
    staging = target.parent / f".{resolved.version}.{uuid.uuid4().hex}"
    staging.mkdir(parents=True, exist_ok=True)
    try:
        location = mlflow_client(settings).get_model_version_download_uri(resolved.name, resolved.version)
        fetch_artifacts(location, resolved.source_uri, staging)
        hf_dir = _find_hf_dir(staging)
        digest = weights_hash(hf_dir)
        if resolved.weights_hash and digest != resolved.weights_hash:
            raise RegistryError(
                f"{resolved.source_uri}: downloaded weights hash {digest[:12]} differs from the registered "
                f"{resolved.weights_hash[:12]} (artifact store modified?)"
            )
        (staging / ".complete").write_text(resolved.weights_hash or digest)
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        try:
            staging.rename(target)
        except OSError:
            if not (target / ".complete").is_file():  # lost a race with another process: theirs is fine
                raise
    except Exception as exc:
        if isinstance(exc, RegistryError):
            raise
        raise RegistryError(f"downloading {resolved.source_uri} failed: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return _find_hf_dir(target)


def load_model(uri_or_resolved: str | ResolvedModel, settings: Settings | None = None) -> tuple[Any, Any, ResolvedModel]:
    """Resolve (if needed), download and open a registered version: `(model, processor, resolved)`."""
    from auditors import load_pretrained
    from auditors.errors import UnsupportedModelError

    settings = settings or load_settings()
    resolved = uri_or_resolved
    if isinstance(resolved, str):
        resolved = resolve_model(resolved, settings)
    elif resolved.local_dir is None:
        resolved = replace(resolved, local_dir=download_model(resolved, settings))
    try:
        model, processor = load_pretrained(resolved.local_dir)
    except UnsupportedModelError as exc:
        raise UnsupportedRegisteredModelError(f"{resolved.source_uri}: {exc}") from exc
    return model, processor, resolved
