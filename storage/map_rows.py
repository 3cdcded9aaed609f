"""Token maps to table rows, and the fast insert that writes them.

Why a module of its own: `token_attributions` receives almost every row of an audit, so its
write path is tuned (maps grouped by shape, cast and encoded in one vectorised step, rows handed
to the driver's executemany); keeping that apart leaves the repository's result code readable.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from storage.encoding import encode_maps
from storage.errors import MapEncodingError, StorageInputError
from storage.models import TokenAttribution
from storage.records import TokenMapRecord

MAP_COLUMNS = (
    "run_id",
    "probe_id",
    "token_index",
    "method",
    "grid_rows",
    "grid_cols",
    "peak_row",
    "peak_col",
    "map_data",
)


def insert_map_rows(session: Session, rows: list[tuple[Any, ...]]) -> None:
    """Insert token-map rows with the driver's executemany.

    Why not the ORM or a Core insert: this table receives hundreds of thousands of rows per audit,
    and SQLAlchemy's per-row parameter processing cost more than encoding and SQLite together
    (measured). The statement is fixed, the values are bound parameters, the columns are checked
    against the model by the migration test.
    """
    connection = session.connection()
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {TokenAttribution.__tablename__} ({', '.join(MAP_COLUMNS)}) "
        f"VALUES ({', '.join([marker] * len(MAP_COLUMNS))})"
    )
    connection.exec_driver_sql(sql, rows)


def map_rows(run_id: int, maps: list[TokenMapRecord], probe_ids: list[int]) -> list[tuple[Any, ...]]:
    """Encode maps (grouped by shape, validated and cast in one vectorised step) into row tuples."""
    if not maps:
        return []
    arrays = [np.asarray(m.map) for m in maps]
    by_shape: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for i, arr in enumerate(arrays):
        by_shape[arr.shape].append(i)
    blobs: list[bytes] = [b""] * len(maps)
    peaks: list[tuple[int, int]] = [(0, 0)] * len(maps)
    for shape, idx in by_shape.items():
        if len(shape) != 2:
            first = maps[idx[0]]
            raise StorageInputError(
                f"probe {first.probe_key!r}: {first.method} map of token {first.token_index} has shape "
                f"{shape}; maps must be 2-D"
            )
        if arrays[idx[0]].dtype.kind not in "fiub":
            raise MapEncodingError(f"map dtype {arrays[idx[0]].dtype} is not numeric")
        # cast while stacking: one copy, and the peak is taken on the values actually stored
        with np.errstate(over="ignore", invalid="ignore"):
            stack = np.stack([arrays[i] for i in idx], dtype=np.float16, casting="unsafe")
        if not np.isfinite(stack).all():
            encode_maps([arrays[i] for i in idx])  # raises the precise reason (NaN, inf or overflow)
        for i, blob in zip(idx, encode_maps(stack)):
            blobs[i] = blob
        cols = shape[1]
        for i, flat in zip(idx, stack.reshape(len(idx), -1).argmax(axis=1).tolist()):
            peaks[i] = divmod(flat, cols)
    rows = []
    for i, (m, probe_id) in enumerate(zip(maps, probe_ids)):
        grid_rows, grid_cols = arrays[i].shape
        peak = m.peak if m.peak is not None else peaks[i]
        rows.append(
            (
                run_id,
                probe_id,
                int(m.token_index),
                m.method,
                grid_rows,
                grid_cols,
                int(peak[0]),
                int(peak[1]),
                blobs[i],
            )
        )
    return rows
