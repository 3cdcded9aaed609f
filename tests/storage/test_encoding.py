"""Map encoding: lossless w.r.t. float16, compressed, self-describing, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from storage.encoding import FORMAT_PLANES, FORMAT_RAW, decode_map, encode_map, encode_maps, map_grid_shape
from storage.errors import MapEncodingError


def _smooth_map(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """A saliency-like map: a few Gaussian blobs plus a little noise, normalised to [0, 1]."""
    yy, xx = np.mgrid[0:rows, 0:cols]
    out = np.zeros((rows, cols))
    for _ in range(3):
        cy, cx, s = rng.uniform(0, rows), rng.uniform(0, cols), rng.uniform(1, max(2.0, max(rows, cols) / 4))
        out += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
    out += rng.gamma(1.0, 0.05, size=out.shape)
    return (out / out.max()).astype(np.float32)


@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (16, 16), (32, 32), (27, 41), (64, 48)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_roundtrip_equals_float16_cast(shape: tuple[int, int], dtype: type) -> None:
    rng = np.random.default_rng(sum(shape))
    for m in (
        _smooth_map(rng, *shape).astype(dtype),
        (rng.standard_normal(shape) * 30).astype(dtype),  # signed, large-ish values
        np.zeros(shape, dtype=dtype),
    ):
        decoded = decode_map(encode_map(m))
        assert decoded.dtype == np.float16
        assert decoded.shape == shape
        np.testing.assert_array_equal(decoded, m.astype(np.float16))


def test_special_float16_values_survive() -> None:
    m = np.array([[0.0, -0.0, 6e-8, 65504.0], [-65504.0, 1e-5, 0.5, 1.0]], dtype=np.float32)
    decoded = decode_map(encode_map(m))
    assert decoded.view(np.uint16).tolist() == m.astype(np.float16).view(np.uint16).tolist()  # -0.0 kept too


def test_integer_and_bool_maps_are_cast() -> None:
    ints = np.arange(12, dtype=np.int64).reshape(3, 4)
    np.testing.assert_array_equal(decode_map(encode_map(ints)), ints.astype(np.float16))
    mask = np.eye(4, dtype=bool)
    np.testing.assert_array_equal(decode_map(encode_map(mask)), mask.astype(np.float16))


def test_smooth_maps_compress_below_goal() -> None:
    rng = np.random.default_rng(0)
    for side in (16, 32):
        sizes = [len(encode_map(_smooth_map(rng, side, side))) for _ in range(50)]
        per_cell = np.mean(sizes) / (side * side)
        assert per_cell < 1.8, f"{side}x{side}: {per_cell:.3f} bytes/cell"


def test_incompressible_map_is_stored_raw_and_never_grows_past_raw() -> None:
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 2**16, size=(8, 8), dtype=np.uint16).view(np.float16)
    noise = np.where(np.isfinite(noise), noise, 0).astype(np.float16)
    blob = encode_map(noise)
    assert blob[0] in (FORMAT_RAW, FORMAT_PLANES)
    assert len(blob) <= 5 + noise.size * 2
    np.testing.assert_array_equal(decode_map(blob), noise)
    tiny = np.array([[0.3]])
    assert encode_map(tiny)[0] == FORMAT_RAW


def test_header_carries_shape() -> None:
    blob = encode_map(np.ones((5, 9)))
    assert map_grid_shape(blob) == (5, 9)


def test_encode_maps_matches_single_encoding() -> None:
    rng = np.random.default_rng(2)
    stack = rng.random((6, 4, 5))
    assert encode_maps(stack) == [encode_map(m) for m in stack]
    mixed = [rng.random((2, 3)), rng.random((4, 4))]
    assert [decode_map(b).shape for b in encode_maps(mixed)] == [(2, 3), (4, 4)]


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        (np.array([[1.0, np.nan]]), "NaN or infinite"),
        (np.array([[1.0, np.inf]]), "NaN or infinite"),
        (np.array([[1.0, 1e6]]), "overflow float16"),
        (np.ones(5), "must be 2-D"),
        (np.ones((2, 2, 2)), "must be 2-D"),
        (np.ones((0, 3)), "outside"),
        (np.array([["a"]]), "not numeric"),
    ],
)
def test_unstorable_maps_are_refused_with_reason(bad: np.ndarray, fragment: str) -> None:
    with pytest.raises(MapEncodingError, match=fragment):
        encode_map(bad)


def test_corrupt_blobs_are_detected() -> None:
    blob = encode_map(np.random.default_rng(3).random((8, 8)))
    with pytest.raises(MapEncodingError, match="shorter than its header"):
        decode_map(blob[:3])
    with pytest.raises(MapEncodingError, match="corrupt"):
        decode_map(blob[:5] + b"\xff" * 10)
    with pytest.raises(MapEncodingError, match="unknown map blob format"):
        decode_map(bytes([9]) + blob[1:])
    raw = encode_map(np.array([[0.3]]))
    with pytest.raises(MapEncodingError, match="corrupt"):
        decode_map(raw + b"\x00")
