"""Small builders of storage records, shared by the tests and the writer helper script."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from storage.records import (
    GenerationRecord,
    MetricRecord,
    ModelVersionRecord,
    ProbeRecord,
    ProbeResult,
    ProbeSetRecord,
    TokenMapRecord,
)

METHODS = ("tam", "msea_arc")


def model_version(name: str = "demo-captioner", version: str = "1", weights_hash: str = "a" * 64) -> ModelVersionRecord:
    return ModelVersionRecord(
        id=None,
        name=name,
        version=version,
        source_uri=f"models:/{name}/{version}",
        weights_hash=weights_hash,
        architecture="Qwen2VLForConditionalGeneration",
        run_id="mlflow-run-1",
        aliases=("candidate",),
    )


def probe_set(n: int = 5, content_hash: str = "c" * 64) -> tuple[ProbeSetRecord, list[ProbeRecord]]:
    record = ProbeSetRecord(
        id=None, name="demo-probes", version="1", content_hash=content_hash, description="test probes", root="/probes"
    )
    probes = [
        ProbeRecord(
            probe_key=f"p{i:03d}",
            image_path=f"images/p{i:03d}.png",
            prompt="Describe the image.",
            object_words=(("red", "square"),) if i % 2 == 0 else (),
        )
        for i in range(n)
    ]
    return record, probes


def probe_result(
    probe_key: str, n_tokens: int = 3, grid: tuple[int, int] = (4, 6), seed: int = 0, methods: tuple[str, ...] = METHODS
) -> ProbeResult:
    """A deterministic result: the same (key, seed) always gives the same maps and metric values."""
    rng = np.random.default_rng([seed, int(probe_key.lstrip("p") or 0)])
    tokens = tuple(f"w{t}" for t in range(n_tokens - 1)) + ("<eos>",)
    word_index = tuple(range(n_tokens - 1)) + (-1,)
    generation = GenerationRecord(
        probe_key=probe_key,
        prompt="Describe the image.",
        text=" ".join(tokens[:-1]),
        token_ids=tuple(100 + t for t in range(n_tokens)),
        tokens=tokens,
        word_index=word_index,
    )
    maps = [
        TokenMapRecord(
            probe_key=probe_key,
            token_index=t,
            token_text=tokens[t],
            word_index=word_index[t],
            method=method,
            map=rng.random(grid).astype(np.float32),
        )
        for method in methods
        for t in range(n_tokens)
    ]
    metrics = [
        MetricRecord(method=method, metric="pointing_game", value=float(rng.random()), direction="higher_is_better", probe_key=probe_key)
        for method in methods
    ] + [
        MetricRecord(
            method=methods[0], metric="mask_iou", value=float(rng.random()), direction="higher_is_better", probe_key=probe_key, word="w0"
        )
    ]
    return ProbeResult(probe_key=probe_key, generation=generation, maps=maps, metrics=metrics)


def is_aware_utc(value: datetime | None) -> bool:
    """True for a timezone-aware datetime in UTC (what storage promises for every timestamp)."""
    return value is not None and value.tzinfo is not None and value.utcoffset() == timedelta(0)
