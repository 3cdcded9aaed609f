"""Register a saved vision-language model folder as a new version of a registered model.

Loading never goes through pickled Python: the registered artifact is the `save_pretrained`
folder, wrapped in a pyfunc model (`flows.mlflow_model`) so MLflow lists it like any other model.
"""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import replace
from importlib import metadata
from pathlib import Path

from flows.config import Settings, load_settings
from flows.errors import ModelNotFoundError, RegistryError
from flows.registry.client import (
    TAG_ARCHITECTURE,
    TAG_WEIGHTS_HASH,
    check_registry,
    experiment_id,
    find_version_by_weights,
    mlflow_client,
    set_alias,
    set_version_tags,
)
from flows.registry.inspection import inspect_model_dir, weights_hash
from flows.registry.uris import ResolvedModel

MODEL_ARTIFACT_NAME = "model"


def _pip_requirements() -> list[str]:
    """Pinned requirements for the pyfunc model (inference of requirements crashes without torchvision)."""
    pins = []
    for dist in ("torch", "transformers", "tokenizers", "safetensors", "pillow", "numpy"):
        try:
            pins.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pins.append(dist)
    return pins


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
    settings = settings or load_settings()
    root = Path(model_dir).expanduser().resolve()
    architecture = inspect_model_dir(root)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]*", name):
        raise ModelNotFoundError(f"invalid model name {name!r}: use letters, digits, '.', '_' and '-'")
    check_registry(settings)  # seconds, before hashing gigabytes of weights
    digest = weights_hash(root)

    existing = find_version_by_weights(name, digest, settings) if reuse_existing else None
    resolved = existing if existing is not None else _log_new_version(root, name, digest, architecture, settings)
    if alias:
        set_alias(name, alias, resolved.version, settings)
        resolved = replace(resolved, aliases=tuple(sorted(set(resolved.aliases) | {alias})))
    return resolved


def _log_new_version(root: Path, name: str, digest: str, architecture: str, settings: Settings) -> ResolvedModel:
    import mlflow
    import mlflow.pyfunc

    from flows.mlflow_model import HF_DIR_ARTIFACT, HFVisionLanguageModel

    client = mlflow_client(settings)
    tags = {TAG_WEIGHTS_HASH: digest, TAG_ARCHITECTURE: architecture}
    try:
        with mlflow.start_run(experiment_id=experiment_id(client, settings), run_name=f"register-{name}") as run:
            mlflow.log_params({"weights_hash": digest, "architecture": architecture, "source_dir": str(root)})
            mlflow.set_tags(tags)
            # MLflow prints "Successfully registered model ..." to stderr; the caller reports the
            # version itself, so keep the terminal to one line per registration.
            with contextlib.redirect_stderr(io.StringIO()):
                info = mlflow.pyfunc.log_model(
                    name=MODEL_ARTIFACT_NAME,
                    python_model=HFVisionLanguageModel(),
                    artifacts={HF_DIR_ARTIFACT: str(root)},
                    pip_requirements=_pip_requirements(),
                    registered_model_name=name,
                )
        version = str(info.registered_model_version)
        set_version_tags(client, name, version, tags)
    except Exception as exc:
        raise RegistryError(f"registering {root} as {name!r} failed: {exc}") from exc
    return ResolvedModel(name=name, version=version, run_id=run.info.run_id, source_uri=f"models:/{name}/{version}",
                         weights_hash=digest, architecture=architecture)
