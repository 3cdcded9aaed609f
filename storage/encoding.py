"""Lossless float16 encoding of attribution maps: the bytes stored in `token_attributions.map_data`.

Why float16 + byte planes + deflate: a map is a few hundred cells per generated token, an audit
stores hundreds of thousands of them, and float16 keeps 3 significant digits (plenty for a saliency
map whose values are compared and rendered, never differentiated). Each float16 is split into its
high byte (sign, exponent, top mantissa bits: few distinct values, strongly skewed) and its low
byte (the rest of the mantissa: close to noise). Only the high-byte plane goes through deflate;
the low-byte plane is appended raw, because compressing noise gains nothing and costs most of the
time (measured: same size at 16x16, 3x faster). Run-length strategy: no string matching (useless
on small noisy inputs), but runs of zeros still collapse. Measured on smooth-blob maps, header
included: ~1.70 bytes/cell at 16x16 and ~1.61 at 32x32 (benchmarks/storage_throughput.py).

Blob layout, self-describing so a blob can be decoded without its row:

    byte 0      format: 0 = raw float16 cells (little-endian); 1 = planes (below)
    bytes 1-2   rows (uint16, little-endian)
    bytes 3-4   cols (uint16, little-endian)
    bytes 5-    format 0: rows*cols float16; format 1: a raw deflate stream of the rows*cols
                high bytes, then the rows*cols low bytes as they are

The raw format is used whenever the planes would not be smaller (e.g. white noise, tiny maps).
Contract: ``decode_map(encode_map(m))`` equals ``m.astype(np.float16)`` exactly.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

import numpy as np

from storage.errors import MapEncodingError

FORMAT_RAW = 0
FORMAT_PLANES = 1
_HEADER = struct.Struct("<BHH")
_MAX_SIDE = 0xFFFF
_F16_MAX = float(np.finfo(np.float16).max)
_LEVEL = 6  # ignored by the run-length strategy, kept explicit
_DTYPE = np.dtype("<f2")


def _check(maps: np.ndarray) -> np.ndarray:
    """Validate a stack [n, rows, cols] and return it as little-endian float16."""
    if maps.ndim != 3:
        raise MapEncodingError(f"an attribution map must be 2-D, got shape {maps.shape[1:]}")
    _, rows, cols = maps.shape
    if rows < 1 or cols < 1 or rows > _MAX_SIDE or cols > _MAX_SIDE:
        raise MapEncodingError(f"map shape {(rows, cols)} is outside 1..{_MAX_SIDE} per side")
    if maps.dtype.kind not in "fiu" and maps.dtype.kind != "b":
        raise MapEncodingError(f"map dtype {maps.dtype} is not numeric")
    with np.errstate(over="ignore", invalid="ignore"):
        cells = np.ascontiguousarray(maps, dtype=_DTYPE)
    # one pass over the small float16 copy; the input is only searched to word the error
    if not np.isfinite(cells).all():
        if maps.dtype.kind == "f" and not np.isfinite(maps).all():
            raise MapEncodingError("map holds NaN or infinite values; storage only keeps finite maps")
        raise MapEncodingError(
            f"map values up to {float(np.abs(maps).max()):.4g} overflow float16 (max {_F16_MAX:g}); "
            "normalise the map before storing it"
        )
    return cells


def _deflate_params(n_cells: int) -> tuple[int, int]:
    """Window bits and memLevel sized to one plane: small set-up cost, the plane in a single block."""
    window_bits = min(15, max(9, (n_cells - 1).bit_length()))
    mem_level = min(9, max(1, n_cells.bit_length() - 6))  # block buffer of 2**(memLevel+6) > n_cells symbols
    return -window_bits, mem_level


def _encode_stack(cells: np.ndarray) -> list[bytes]:
    """Encode validated little-endian float16 maps [n, rows, cols] (planes split once for all).

    Single-threaded on purpose: splitting batches over threads (zlib releases the GIL) gave no
    measurable gain, the per-map Python work around deflate dominates at these sizes.
    """
    n, rows, cols = cells.shape
    n_cells = rows * cols
    as_bytes = cells.view(np.uint8).reshape(n, n_cells, 2)  # little-endian: [..., 0] low, [..., 1] high
    high = memoryview(np.ascontiguousarray(as_bytes[:, :, 1]).tobytes())
    low = memoryview(np.ascontiguousarray(as_bytes[:, :, 0]).tobytes())
    raw = memoryview(cells.tobytes())
    planes_header = _HEADER.pack(FORMAT_PLANES, rows, cols)
    raw_header = _HEADER.pack(FORMAT_RAW, rows, cols)
    window_bits, mem_level = _deflate_params(n_cells)
    out = []
    for i in range(n):
        lo, hi = i * n_cells, (i + 1) * n_cells
        compressor = zlib.compressobj(_LEVEL, zlib.DEFLATED, window_bits, mem_level, zlib.Z_RLE)
        packed = compressor.compress(high[lo:hi]) + compressor.flush()
        if len(packed) < n_cells:
            out.append(b"".join((planes_header, packed, low[lo:hi])))
        else:
            out.append(b"".join((raw_header, raw[2 * lo : 2 * hi])))
    return out


def encode_map(attribution_map: np.ndarray) -> bytes:
    """Encode one 2-D map as float16 (lossless w.r.t. ``astype(float16)``), compressed, with shape."""
    arr = np.asarray(attribution_map)
    if arr.ndim != 2:
        raise MapEncodingError(f"an attribution map must be 2-D, got shape {arr.shape}")
    return _encode_stack(_check(arr[None]))[0]


def encode_maps(maps: np.ndarray | Sequence[np.ndarray]) -> list[bytes]:
    """Encode many maps; a 3-D array [n, rows, cols] is validated and cast in one vectorised step."""
    if isinstance(maps, np.ndarray) and maps.ndim == 3:
        return _encode_stack(_check(maps))
    return [encode_map(m) for m in maps]


def decode_map(blob: bytes) -> np.ndarray:
    """Decode a blob made by `encode_map` into a float16 array of its stored shape."""
    blob = bytes(blob)
    if len(blob) < _HEADER.size:
        raise MapEncodingError(f"map blob of {len(blob)} bytes is shorter than its header")
    fmt, rows, cols = _HEADER.unpack_from(blob)
    payload = blob[_HEADER.size :]
    n_bytes = rows * cols * 2
    if fmt == FORMAT_PLANES:
        n_cells = rows * cols
        inflater = zlib.decompressobj(-15)
        try:
            high = inflater.decompress(payload)
        except zlib.error as exc:
            raise MapEncodingError(f"corrupt map blob: {exc}") from None
        low = inflater.unused_data
        if not inflater.eof or len(high) != n_cells or len(low) != n_cells:
            raise MapEncodingError(f"corrupt map blob: wrong plane sizes for a {rows}x{cols} map")
        cells = np.empty((n_cells, 2), dtype=np.uint8)
        cells[:, 1] = np.frombuffer(high, dtype=np.uint8)
        cells[:, 0] = np.frombuffer(low, dtype=np.uint8)
        return cells.view(_DTYPE).reshape(rows, cols).astype(np.float16, copy=False)
    if fmt == FORMAT_RAW:
        if len(payload) != n_bytes:
            raise MapEncodingError(f"corrupt map blob: {len(payload)} bytes for a {rows}x{cols} map")
        return np.frombuffer(payload, dtype=_DTYPE).reshape(rows, cols).astype(np.float16)
    raise MapEncodingError(f"unknown map blob format {fmt} (written by a newer mllm-audit?)")


def map_grid_shape(blob: bytes) -> tuple[int, int]:
    """The (rows, cols) a blob holds, read from its header without decompressing."""
    _, rows, cols = _HEADER.unpack_from(bytes(blob[: _HEADER.size]))
    return rows, cols
