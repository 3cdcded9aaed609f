"""Identity hashes computed by storage, so every caller derives the same identity.

Why canonical JSON: a run is identified by (model version, probe set, config hash) and a verdict
by (candidate run, baseline run, settings hash); two configs or settings that differ only in key
order or in int-vs-float spelling of the same value must not make two runs or two verdicts, and a
value that cannot be written as JSON must fail here rather than be stored lossy.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from storage.errors import StorageInputError


def _normalise(value: Any, path: str, what: str, collapse_whole_floats: bool) -> Any:
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise StorageInputError(f"{what} key {key!r} at {path or 'top level'} is not a string")
            out[key] = _normalise(item, f"{path}.{key}" if path else key, what, collapse_whole_floats)
        return out
    if isinstance(value, (list, tuple)):
        return [_normalise(item, f"{path}[{i}]", what, collapse_whole_floats) for i, item in enumerate(value)]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise StorageInputError(f"{what} value at {path} is {value}; only finite numbers are stored")
        return int(value) if collapse_whole_floats and value.is_integer() else value
    # numpy scalars and similar expose .item(); anything else is refused
    item = getattr(value, "item", None)
    if callable(item):
        return _normalise(item(), path, what, collapse_whole_floats)
    raise StorageInputError(f"{what} value at {path} of type {type(value).__name__} cannot be stored as JSON")


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise StorageInputError(f"{what} must be a mapping, got {type(value).__name__}")
    return value


def canonical_json(value: Mapping[str, Any], what: str) -> dict[str, Any]:
    """`value` as plain JSON types in one spelling (tuples as lists, whole floats as ints, numpy
    scalars unwrapped); `what` names the value in errors."""
    return _normalise(_mapping(value, what), "", what, collapse_whole_floats=True)


def plain_json(value: Mapping[str, Any], what: str) -> dict[str, Any]:
    """`value` as plain JSON types, floats kept as floats (for stored results, not identities)."""
    return _normalise(_mapping(value, what), "", what, collapse_whole_floats=False)


def canonical_hash(value: Mapping[str, Any], what: str) -> str:
    """sha256 (hex) of the canonical JSON of `value`."""
    text = json.dumps(canonical_json(value, what), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """An audit configuration in its canonical JSON form."""
    return canonical_json(config, "an audit config")


def config_hash(config: Mapping[str, Any]) -> str:
    """The hash that, with the model version and probe set, identifies an audit run."""
    return canonical_hash(config, "an audit config")


def settings_hash(settings: Mapping[str, Any]) -> str:
    """The hash that, with the candidate and baseline runs, identifies a verdict."""
    return canonical_hash(settings, "verdict settings")
