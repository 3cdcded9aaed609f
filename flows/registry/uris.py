"""`models:/` URIs and the registered version they resolve to.

Why apart: the command line and `flows.request.AuditRequest` check a URI before anything heavy is
imported or any registry is contacted; this module imports nothing beyond the standard library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flows.errors import ModelNotFoundError

_URI_VERSION = re.compile(r"^models:/(?P<name>[^/@]+)/(?P<version>\d+|latest)$")
_URI_ALIAS = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[A-Za-z0-9_\-]+)$")
_URI_NAME = re.compile(r"^models:/(?P<name>[^/@]+)/?$")


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
    registered_at: datetime | None = None  # when the registry created the version
    aliases_known: bool = True  # False: the registry could not list the aliases (`aliases` is then empty)

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


def parse_model_name(uri: str) -> str:
    """The registered model a URI names: `models:/name` (the whole model), or any version URI."""
    if match := _URI_NAME.match(uri.strip()):
        return match["name"]
    return parse_model_uri(uri).name
