"""Identity hashes computed by storage, so every caller derives the same run identity.

Why canonical JSON: a run is identified by (model version, probe set, config hash); two configs
that differ only in key order or in int-vs-float spelling of the same setting must not start two
runs, and a config that cannot be written as JSON must fail here rather than be stored lossy.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from storage.errors import StorageInputError


def _normalise(value: Any, path: str) -> Any:
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise StorageInputError(f"config key {key!r} at {path or 'top level'} is not a string")
            out[key] = _normalise(item, f"{path}.{key}" if path else key)
        return out
    if isinstance(value, (list, tuple)):
        return [_normalise(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise StorageInputError(f"config value at {path} is {value}; only finite numbers are stored")
        return int(value) if value.is_integer() else value
    # numpy scalars and similar expose .item(); anything else is refused
    item = getattr(value, "item", None)
    if callable(item):
        return _normalise(item(), path)
    raise StorageInputError(f"config value at {path} of type {type(value).__name__} cannot be stored as JSON")


def canonical_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config as plain JSON types (tuples as lists, whole floats as ints, numpy scalars unwrapped)."""
    if not isinstance(config, Mapping):
        raise StorageInputError(f"an audit config must be a mapping, got {type(config).__name__}")
    return _normalise(config, "")


def config_hash(config: Mapping[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of an audit configuration."""
    text = json.dumps(canonical_config(config), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
