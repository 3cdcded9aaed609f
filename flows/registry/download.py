"""Resolve a `models:/` URI, download its folder into the local model cache (verified), open it.

Why a cache under the data directory: an audit and its baseline, and every Dask worker on the same
machine, open the same folder instead of downloading it again; the weights hash written at
registration is checked after every download, so a modified artifact store is caught.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from flows.config import Settings, load_settings
from flows.errors import ModelNotFoundError, RegistryError, UnsupportedRegisteredModelError
from flows.registry.artifact_links import fetch_artifacts
from flows.registry.client import TAG_ARCHITECTURE, is_missing, mlflow_client, to_resolved
from flows.registry.inspection import supported_architectures, weights_hash
from flows.registry.uris import ResolvedModel, parse_model_uri


def resolve_model(uri: str, settings: Settings | None = None, download: bool = True) -> ResolvedModel:
    """Look up a `models:/` URI; with `download`, fetch its folder into the local model cache."""
    settings = settings or load_settings()
    parsed = parse_model_uri(uri)
    client = mlflow_client(settings)
    try:
        client.get_registered_model(parsed.name)
    except Exception as exc:
        if is_missing(exc):
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
        if is_missing(exc) or "alias" in str(exc).lower():
            raise ModelNotFoundError(f"registered model {parsed.name!r} has no {what}") from exc
        raise RegistryError(f"cannot resolve {uri}: {exc}") from exc
    resolved = to_resolved(client, parsed.name, mv)
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
            "the registered artifact has no saved model folder (artifacts/<folder>/config.json missing)"
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
