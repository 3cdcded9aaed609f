"""The results part of the repository: what each probe produced in a run, and the run's aggregates.

Why one transaction per call: a probe's generation, maps and metrics land together or not at all,
so a killed audit leaves whole probes only, and the generation row (unique per run and probe) is
the marker a resume reads to skip the probes already done.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.database import RepositoryPart
from storage.encoding import decode_map
from storage.errors import StorageError, StorageInputError
from storage.map_rows import insert_map_rows, map_rows
from storage.models import Generation, Metric, Probe, TokenAttribution
from storage.records import GenerationRecord, MetricRecord, ProbeResult, TokenMapRecord
from storage.types import utc_now
from storage.validation import check_metric, check_probe_result, check_unique_metrics


class ResultRepository(RepositoryPart):
    """Generations, token maps and metrics of runs."""

    def completed_probe_keys(self, run_id: int) -> set[str]:
        """Keys of the probes whose results are stored for this run (what a resume skips)."""
        with self._db.transaction() as session:
            self._db.run_row(session, run_id)
            return set(
                session.scalars(
                    select(Probe.probe_key).join(Generation, Generation.probe_id == Probe.id).where(
                        Generation.run_id == run_id
                    )
                )
            )

    def add_probe_result(self, run_id: int, result: ProbeResult) -> bool:
        """Store one probe's generation, maps and metrics in one transaction.

        Returns False (writing nothing) when the run already holds this probe's results, so a
        resumed or concurrent writer can call it blindly. Inconsistent input raises
        `StorageInputError` and writes nothing.
        """
        return self.add_probe_results(run_id, [result]) == 1

    def add_probe_results(self, run_id: int, results: Iterable[ProbeResult]) -> int:
        """Store many probes' results in one transaction (the bulk path); returns how many were new.

        Probes already stored for the run are skipped. If another writer stores one of the same
        probes at the same moment, the batch is retried probe by probe so each lands exactly once.
        """
        batch = list(results)
        if not batch:
            return 0
        keys = [r.probe_key for r in batch]
        if len(set(keys)) != len(keys):
            raise StorageInputError(f"probe keys repeated within one batch: {sorted({k for k in keys if keys.count(k) > 1})[:5]}")
        for result in batch:
            check_probe_result(result)
        try:
            return self._insert_results(run_id, batch)
        except IntegrityError as exc:
            if len(batch) > 1:
                return sum(self.add_probe_results(run_id, [r]) for r in batch)
            with self._db.transaction() as session:
                if self._probe_done(session, run_id, batch[0].probe_key):
                    return 0  # another writer stored this probe between our check and our insert
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
            raise StorageError(f"could not store probe {batch[0].probe_key!r} of run {run_id}: {reason}") from None

    def _probe_done(self, session: Session, run_id: int, probe_key: str) -> bool:
        found = session.scalar(
            select(func.count())
            .select_from(Generation)
            .join(Probe, Probe.id == Generation.probe_id)
            .where(Generation.run_id == run_id, Probe.probe_key == probe_key)
        )
        return bool(found)

    def _insert_results(self, run_id: int, batch: list[ProbeResult]) -> int:
        with self._db.transaction() as session:
            run = self._db.run_row(session, run_id)
            probe_ids = dict(
                session.execute(
                    select(Probe.probe_key, Probe.id).where(
                        Probe.probe_set_id == run.probe_set_id, Probe.probe_key.in_([r.probe_key for r in batch])
                    )
                ).all()
            )
            unknown = [r.probe_key for r in batch if r.probe_key not in probe_ids]
            if unknown:
                raise StorageInputError(
                    f"probe keys {unknown[:5]} are not in probe set {run.probe_set_id} of run {run_id}"
                )
            done = set(
                session.scalars(
                    select(Generation.probe_id).where(
                        Generation.run_id == run_id, Generation.probe_id.in_(list(probe_ids.values()))
                    )
                )
            )
            todo = [r for r in batch if probe_ids[r.probe_key] not in done]
            if not todo:
                return 0
            now = utc_now()
            generations = []
            maps: list[TokenMapRecord] = []
            map_probe_ids: list[int] = []
            metrics = []
            for result in todo:
                probe_id = probe_ids[result.probe_key]
                gen = result.generation
                generations.append(
                    {
                        "run_id": run_id,
                        "probe_id": probe_id,
                        "prompt": gen.prompt,
                        "text": gen.text,
                        "token_ids": [int(t) for t in gen.token_ids],
                        "tokens": list(gen.tokens),
                        "word_index": [int(w) for w in gen.word_index],
                        "created_at": now,
                    }
                )
                maps.extend(result.maps)
                map_probe_ids.extend([probe_id] * len(result.maps))
                metrics.extend(_metric_row(run_id, probe_id, m) for m in result.metrics)
            rows = map_rows(run_id, maps, map_probe_ids)
            session.execute(insert(Generation), generations)
            if rows:
                insert_map_rows(session, rows)
            if metrics:
                session.execute(insert(Metric), metrics)
            run.updated_at = now
            return len(todo)

    def set_aggregate_metrics(self, run_id: int, metrics: Sequence[MetricRecord]) -> int:
        """Replace the run's aggregate metrics (probe_key None) with these, in one transaction."""
        for m in metrics:
            if m.probe_key is not None:
                raise StorageInputError(
                    f"aggregate metric {m.method}/{m.metric} has probe_key {m.probe_key!r}; per-probe "
                    "metrics belong in the probe's ProbeResult"
                )
            check_metric(m)
        check_unique_metrics(metrics, "aggregate metrics")
        with self._db.transaction() as session:
            self._db.run_row(session, run_id)
            session.execute(delete(Metric).where(Metric.run_id == run_id, Metric.probe_id.is_(None)))
            if metrics:
                session.execute(insert(Metric), [_metric_row(run_id, None, m) for m in metrics])
            return len(metrics)

    def get_generations(self, run_id: int) -> list[GenerationRecord]:
        """The run's generations, ordered by probe key."""
        with self._db.transaction() as session:
            self._db.run_row(session, run_id)
            rows = session.execute(
                select(Probe.probe_key, Generation)
                .join(Generation, Generation.probe_id == Probe.id)
                .where(Generation.run_id == run_id)
                .order_by(Probe.probe_key)
            ).all()
            return [
                GenerationRecord(
                    probe_key=key,
                    prompt=g.prompt,
                    text=g.text,
                    token_ids=tuple(g.token_ids),
                    tokens=tuple(g.tokens),
                    word_index=tuple(g.word_index),
                )
                for key, g in rows
            ]

    def get_maps(self, run_id: int, probe_key: str | None = None, method: str | None = None) -> list[TokenMapRecord]:
        """Token maps of a run (float16 arrays), ordered by probe key, method and token index."""
        query = (
            select(
                TokenAttribution.probe_id,
                TokenAttribution.token_index,
                TokenAttribution.method,
                TokenAttribution.map_data,
                TokenAttribution.peak_row,
                TokenAttribution.peak_col,
            )
            .join(Probe, Probe.id == TokenAttribution.probe_id)
            .where(TokenAttribution.run_id == run_id)
            .order_by(Probe.probe_key, TokenAttribution.method, TokenAttribution.token_index)
        )
        tokens_query = (
            select(Generation.probe_id, Probe.probe_key, Generation.tokens, Generation.word_index)
            .join(Probe, Probe.id == Generation.probe_id)
            .where(Generation.run_id == run_id)
        )
        if probe_key is not None:
            query = query.where(Probe.probe_key == probe_key)
            tokens_query = tokens_query.where(Probe.probe_key == probe_key)
        if method is not None:
            query = query.where(TokenAttribution.method == method)
        with self._db.transaction() as session:
            self._db.run_row(session, run_id)
            answers = {pid: (key, tokens, words) for pid, key, tokens, words in session.execute(tokens_query)}
            rows = session.execute(query).all()
        out = []
        for probe_id, token_index, meth, blob, peak_row, peak_col in rows:
            key, tokens, words = answers[probe_id]
            out.append(
                TokenMapRecord(
                    probe_key=key,
                    token_index=token_index,
                    token_text=tokens[token_index],
                    word_index=words[token_index],
                    method=meth,
                    map=decode_map(blob),
                    peak=None if peak_row is None else (peak_row, peak_col),
                )
            )
        return out

    def get_metrics(self, run_id: int, aggregate_only: bool = False) -> list[MetricRecord]:
        """Metrics of a run: aggregates first, then per probe (by key), each by method and metric.

        Columns, not ORM objects: a run holds tens of thousands of values, and building an entity
        (identity map, instance state) per row cost about three times the query itself.
        """
        query = (
            select(Metric.method, Metric.metric, Metric.value, Metric.direction, Metric.metric_version,
                   Probe.probe_key, Metric.word)
            .outerjoin(Probe, Probe.id == Metric.probe_id)
            .where(Metric.run_id == run_id)
            .order_by(Probe.probe_key.is_not(None), Probe.probe_key, Metric.method, Metric.metric, Metric.word)
        )
        if aggregate_only:
            query = query.where(Metric.probe_id.is_(None))
        with self._db.transaction() as session:
            self._db.run_row(session, run_id)
            rows = session.execute(query).all()
        return [
            MetricRecord(method=method, metric=metric, value=value, direction=direction,  # type: ignore[arg-type]
                         metric_version=version, probe_key=key, word=word)
            for method, metric, value, direction, version, key, word in rows
        ]


def _metric_row(run_id: int, probe_id: int | None, m: MetricRecord) -> dict[str, object]:
    """The `metrics` row of one value (probe_id None: a run aggregate)."""
    return {
        "run_id": run_id,
        "probe_id": probe_id,
        "method": m.method,
        "metric": m.metric,
        "word": m.word,
        "value": float(m.value),
        "direction": m.direction,
        "metric_version": m.metric_version,
    }
