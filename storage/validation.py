"""Checks on records handed to the repository, before anything is written.

Why before: a transaction that fails half-way is rolled back anyway, but a check up front names
the problem in the caller's terms (probe, method, token) instead of a driver's constraint name,
and keeps a whole batch out when one of its probes is inconsistent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import get_args

import numpy as np

from storage.errors import StorageInputError
from storage.records import Direction, MetricRecord, ProbeResult, Verdict
from storage.types import to_utc

DIRECTIONS = frozenset(get_args(Direction))
VERDICTS = frozenset(get_args(Verdict))


def aware_utc(value: datetime, what: str) -> datetime:
    """`value` in UTC; a naive datetime is refused (its time zone is unknowable)."""
    try:
        return to_utc(value)
    except ValueError:
        raise StorageInputError(f"{what} is a naive datetime ({value.isoformat()}); pass a timezone-aware one") from None


def check_verdict(value: str, what: str) -> None:
    """A verdict must be one of pass, warn, fail."""
    if value not in VERDICTS:
        raise StorageInputError(f"{what} verdict must be one of {sorted(VERDICTS)}, not {value!r}")


#: the largest thumbnail stored: a 256 px PNG of a photograph stays well under it
MAX_THUMBNAIL_BYTES = 1024 * 1024
_IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


def check_thumbnail(probe_key: str, thumbnail: object) -> bytes | None:
    """The thumbnail as bytes, after checking it is an encoded PNG or JPEG of a sensible size.

    Storage does not decode images; the signature and size checks catch a full-size photograph or
    a raw pixel array handed in by mistake, naming the probe.
    """
    if thumbnail is None:
        return None
    if not isinstance(thumbnail, (bytes, bytearray, memoryview)):
        raise StorageInputError(
            f"thumbnail of probe {probe_key!r} must be bytes (an encoded PNG or JPEG), not {type(thumbnail).__name__}"
        )
    data = bytes(thumbnail)
    if not data.startswith(_IMAGE_SIGNATURES):
        raise StorageInputError(f"thumbnail of probe {probe_key!r} is not a PNG or JPEG (its first bytes are {data[:8]!r})")
    if len(data) > MAX_THUMBNAIL_BYTES:
        raise StorageInputError(
            f"thumbnail of probe {probe_key!r} is {len(data):,} bytes; thumbnails are at most "
            f"{MAX_THUMBNAIL_BYTES:,} bytes (256 px a side)"
        )
    return data


def check_metric(m: MetricRecord) -> None:
    if m.direction not in DIRECTIONS:
        raise StorageInputError(
            f"metric {m.method}/{m.metric} has direction {m.direction!r}; expected one of {sorted(DIRECTIONS)}"
        )
    if not np.isfinite(m.value):
        raise StorageInputError(f"metric {m.method}/{m.metric} of probe {m.probe_key} is {m.value}; must be finite")


def check_unique_metrics(metrics: Sequence[MetricRecord], where: str) -> None:
    keys = [(m.probe_key, m.method, m.metric, m.word) for m in metrics]
    if len(set(keys)) != len(keys):
        dupes = sorted({k for k in keys if keys.count(k) > 1}, key=str)
        raise StorageInputError(f"{where} repeat (probe, method, metric, word) {dupes[:3]}")


def check_probe_result(result: ProbeResult) -> None:
    """Generation, maps and metrics of one probe agree with each other (keys, token counts)."""
    key = result.probe_key
    gen = result.generation
    if gen.probe_key != key:
        raise StorageInputError(f"generation of probe {gen.probe_key!r} handed in the result of probe {key!r}")
    n_tokens = len(gen.token_ids)
    if len(gen.tokens) != n_tokens or len(gen.word_index) != n_tokens:
        raise StorageInputError(
            f"probe {key!r}: {n_tokens} token ids, {len(gen.tokens)} tokens and {len(gen.word_index)} word "
            "indices; they must have one entry per generated token"
        )
    seen: set[tuple[str, int]] = set()
    for m in result.maps:
        if m.probe_key != key:
            raise StorageInputError(f"map of probe {m.probe_key!r} handed in the result of probe {key!r}")
        if not 0 <= m.token_index < n_tokens:
            raise StorageInputError(
                f"probe {key!r}: map for token {m.token_index} but the answer has {n_tokens} tokens"
            )
        if m.token_text != gen.tokens[m.token_index] or m.word_index != gen.word_index[m.token_index]:
            raise StorageInputError(
                f"probe {key!r}: {m.method} map of token {m.token_index} says ({m.token_text!r}, word "
                f"{m.word_index}) but the generation has ({gen.tokens[m.token_index]!r}, word "
                f"{gen.word_index[m.token_index]})"
            )
        if (m.method, m.token_index) in seen:
            raise StorageInputError(f"probe {key!r}: two {m.method} maps for token {m.token_index}")
        seen.add((m.method, m.token_index))
    for metric in result.metrics:
        if metric.probe_key != key:
            raise StorageInputError(
                f"metric {metric.method}/{metric.metric} with probe_key {metric.probe_key!r} handed in the result "
                f"of probe {key!r} (aggregates go through set_aggregate_metrics)"
            )
        check_metric(metric)
    check_unique_metrics(result.metrics, f"metrics of probe {key!r}")
