"""Identity hashes: one spelling per value, clear refusals, floats kept where identity is not at stake."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from storage.errors import StorageInputError
from storage.hashing import canonical_json, config_hash, plain_json, settings_hash


def test_spelling_does_not_change_the_hash() -> None:
    one = {"b": [1, 2.0], "a": {"y": (np.float32(0.5),), "x": np.int64(3)}}
    other = {"a": {"x": 3.0, "y": [0.5]}, "b": (1.0, 2)}
    assert settings_hash(one) == settings_hash(other) == config_hash(other)
    expected = json.dumps({"a": {"x": 3, "y": [0.5]}, "b": [1, 2]}, sort_keys=True, separators=(",", ":"))
    assert settings_hash(one) == hashlib.sha256(expected.encode()).hexdigest()
    assert settings_hash({"a": 1}) != settings_hash({"a": 1.5})


def test_canonical_json_collapses_whole_floats_and_plain_json_keeps_them() -> None:
    assert canonical_json({"x": 2.0, "t": (1, "a")}, "settings") == {"x": 2, "t": [1, "a"]}
    kept = plain_json({"x": 2.0, "n": np.float64(0.25)}, "result")
    assert kept == {"x": 2.0, "n": 0.25} and isinstance(kept["x"], float)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ({1: "a"}, "verdict settings key 1 at top level is not a string"),
        ({"a": {"b": float("nan")}}, "verdict settings value at a.b is nan"),
        ({"a": [object()]}, r"verdict settings value at a\[0\] of type object cannot be stored as JSON"),
        (["not", "a", "mapping"], "verdict settings must be a mapping, got list"),
    ],
)
def test_unstorable_values_are_refused_with_their_path(value: object, fragment: str) -> None:
    with pytest.raises(StorageInputError, match=fragment):
        settings_hash(value)  # type: ignore[arg-type]
