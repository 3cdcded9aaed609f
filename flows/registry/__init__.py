"""MLflow model registry access: register a saved model folder, resolve and load `models:/` URIs.

Modules: `uris` (parse a URI; `ResolvedModel`), `inspection` (is a folder a supported model, its
weights hash), `client` (the MLflow client, versions, aliases, the tags this project writes),
`register` (a folder becomes a version), `download` (resolve, download into the cache, open).
Importing this package imports no MLflow: every function imports it when called.
"""

from flows.registry.client import (
    TAG_ARCHITECTURE,
    TAG_LEDGER_HEAD,
    TAG_REPORT,
    TAG_RUN_ID,
    TAG_SIGNOFF,
    TAG_SIGNOFF_AT,
    TAG_SIGNOFF_REVIEWER,
    TAG_VERDICT,
    TAG_WEIGHTS_HASH,
    check_registry,
    find_version_by_weights,
    list_versions,
    mlflow_client,
    set_alias,
    set_version_tags,
)
from flows.registry.download import download_model, load_model, resolve_model
from flows.registry.inspection import inspect_model_dir, safetensors_files, supported_architectures, weights_hash
from flows.registry.register import MODEL_ARTIFACT_NAME, register_model
from flows.registry.uris import ModelUri, ResolvedModel, parse_model_name, parse_model_uri

__all__ = [
    "MODEL_ARTIFACT_NAME",
    "TAG_ARCHITECTURE",
    "TAG_LEDGER_HEAD",
    "TAG_REPORT",
    "TAG_RUN_ID",
    "TAG_SIGNOFF",
    "TAG_SIGNOFF_AT",
    "TAG_SIGNOFF_REVIEWER",
    "TAG_VERDICT",
    "TAG_WEIGHTS_HASH",
    "ModelUri",
    "ResolvedModel",
    "check_registry",
    "download_model",
    "find_version_by_weights",
    "inspect_model_dir",
    "list_versions",
    "load_model",
    "mlflow_client",
    "parse_model_name",
    "parse_model_uri",
    "register_model",
    "resolve_model",
    "safetensors_files",
    "set_alias",
    "set_version_tags",
    "supported_architectures",
    "weights_hash",
]
