"""Conversion between the science layer's objects and storage records.

Why here: `storage/` must not know torch or `auditors/`, and `auditors/` must not know the
database; `flows/` is the only layer that sees both, so the mapping lives (once) in this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

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

if TYPE_CHECKING:  # pragma: no cover
    from auditors.explanation import Explanation
    from flows.registry import ResolvedModel

def model_version_record(resolved: "ResolvedModel") -> ModelVersionRecord:
    return ModelVersionRecord(
        id=None,
        name=resolved.name,
        version=str(resolved.version),
        source_uri=resolved.source_uri,
        weights_hash=resolved.weights_hash,
        architecture=resolved.architecture,
        run_id=resolved.run_id,
        aliases=tuple(resolved.aliases),
        aliases_known=resolved.aliases_known,
        registered_at=resolved.registered_at,
    )


def _relative(path: Any, root: Path) -> str:
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            return candidate.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            return candidate.as_posix()
    return candidate.as_posix()


def probe_set_records(probe_set: Any) -> tuple[ProbeSetRecord, list[ProbeRecord]]:
    """An `auditors.probes.ProbeSet` as the probe-set record and its probe records, each with the
    thumbnail the report embeds (`reports.encode.thumbnail`), so a report needs only the database."""
    from reports.encode import thumbnail

    root = Path(probe_set.root)
    probes = [
        ProbeRecord(
            probe_key=str(probe.id),
            image_path=_relative(probe.image_path, root),
            prompt=probe.prompt,
            object_words=tuple(tuple(obj.words) for obj in (probe.objects or ())),
            thumbnail=thumbnail(probe.load_image()),
        )
        for probe in probe_set.probes
    ]
    record = ProbeSetRecord(
        id=None,
        name=probe_set.name,
        version=str(probe_set.version),
        content_hash=probe_set.content_hash,
        description=getattr(probe_set, "description", "") or "",
        n_probes=len(probes),
        root=str(root),
        source=getattr(probe_set, "source", None),
        licence=getattr(probe_set, "licence", None),
    )
    return record, probes


def explanation_to_probe_result(
    explanation: "Explanation",
    probe: Any,
    metric_values: Iterable[Any],
    methods: Iterable[str] | None = None,
) -> ProbeResult:
    """Everything one probe produced, as the records stored in one transaction.

    `metric_values`: `auditors.metrics.MetricValue`s (method, metric, value, direction, word,
    metric_version). `methods` limits which maps are stored (default: all in the explanation).
    """
    generation = GenerationRecord(
        probe_key=str(probe.id),
        prompt=explanation.prompt,
        text=explanation.answer,
        token_ids=tuple(int(t) for t in explanation.token_ids),
        tokens=tuple(explanation.tokens),
        word_index=tuple(int(w) for w in explanation.word_index),
    )
    wanted = list(methods) if methods is not None else list(explanation.maps)
    maps: list[TokenMapRecord] = []
    for method in wanted:
        stack = np.asarray(explanation.maps[method], dtype=np.float32)
        for token_index in range(stack.shape[0]):
            values = stack[token_index]
            peak = np.unravel_index(int(np.argmax(values)), values.shape) if values.size else None
            maps.append(
                TokenMapRecord(
                    probe_key=str(probe.id),
                    token_index=token_index,
                    token_text=explanation.tokens[token_index] if token_index < len(explanation.tokens) else "",
                    word_index=int(explanation.word_index[token_index]) if token_index < len(explanation.word_index) else -1,
                    method=method,
                    map=values,
                    peak=(int(peak[0]), int(peak[1])) if peak is not None and len(peak) == 2 else None,
                )
            )
    metrics = [
        MetricRecord(
            method=value.method,
            metric=value.metric,
            value=float(value.value),
            direction=value.direction,
            metric_version=str(getattr(value, "metric_version", "1") or "1"),
            probe_key=str(probe.id),
            word=getattr(value, "word", None),
        )
        for value in metric_values
    ]
    return ProbeResult(probe_key=str(probe.id), generation=generation, maps=maps, metrics=metrics)


def aggregate_records(per_probe: Iterable[MetricRecord]) -> list[MetricRecord]:
    """The run's aggregate rows from its per-probe values, by each metric's own rule
    (`auditors.metrics.aggregate_values`: pooled word means; F1-IoU from the pooled IoUs).

    Why from records already in memory: the flow read the run once for the comparison and the
    report; aggregating those same records writes the aggregates without reading the run again.
    """
    from auditors.metrics import MetricValue, aggregate_values

    values = [MetricValue(m.method, m.metric, m.value, m.direction, m.word, m.metric_version)
              for m in per_probe if m.probe_key is not None]
    return [MetricRecord(method=v.method, metric=v.metric, value=float(v.value), direction=v.direction,
                         metric_version=str(v.metric_version), probe_key=None, word=None)
            for v in aggregate_values(values)]
