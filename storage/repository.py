"""`AuditRepository`: everything the flows and reports read from and write to the audit database.

Why a repository: callers speak in `storage.records` dataclasses and never see sessions, rows or
SQL dialects. Every public method is one transaction, so a killed process leaves either a whole
probe or nothing, and the unique constraints of `storage.models` make a second write of the same
probe a no-op instead of a duplicate (resumable and safe with several writers at once).
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, get_args

import numpy as np
from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from storage.encoding import decode_map, encode_maps
from storage.engine import ENV_DB_URL, make_engine, parse_database_url, safe_url
from storage.errors import IdentityConflictError, MapEncodingError, NotFoundError, StorageError, StorageInputError
from storage.hashing import canonical_config, config_hash
from storage.migrate import ensure_schema, unreachable_error
from storage.models import (
    Alert,
    AuditRun,
    Comparison,
    Generation,
    Metric,
    ModelVersion,
    Probe,
    ProbeSet,
    TokenAttribution,
)
from storage.records import (
    AlertRecord,
    AuditRunRecord,
    ComparisonRecord,
    Direction,
    GenerationRecord,
    MetricRecord,
    ModelVersionRecord,
    ProbeRecord,
    ProbeResult,
    ProbeSetRecord,
    RunStatus,
    TokenMapRecord,
    Verdict,
)
from storage.types import to_utc, utc_now

log = logging.getLogger(__name__)

_RUN_STATUSES = frozenset(get_args(RunStatus))
_FINAL_STATUSES = frozenset({"completed", "failed"})
_DIRECTIONS = frozenset(get_args(Direction))
_VERDICTS = frozenset(get_args(Verdict))


class AuditRepository:
    """Typed access to one audit database.

    `url`: a SQLAlchemy URL (`sqlite:///path`, `postgresql+psycopg://user@host:port/db`); None
    uses `$MLLM_AUDIT_DB_URL`, else the SQLite file `$MLLM_AUDIT_HOME/audit.db`.

    Schema policy on opening: an empty database is migrated to the current schema (any backend);
    an older schema is upgraded in place when `upgrade_outdated` is True, which by default it is for
    SQLite (a local file) and not for PostgreSQL (a shared server, upgraded on purpose with
    `mllm-audit db upgrade` so colleagues on an older version are not locked out by surprise).
    A newer schema raises `SchemaTooNewError` before anything is written.
    """

    def __init__(self, url: str | URL | None = None, *, upgrade_outdated: bool | None = None) -> None:
        uses_home_default = url is None and not os.environ.get(ENV_DB_URL, "").strip()
        self._url = parse_database_url(url)
        self._engine: Engine = make_engine(self._url, create_parent=uses_home_default)
        if upgrade_outdated is None:
            upgrade_outdated = self._url.get_backend_name() == "sqlite"
        try:
            ensure_schema(self._engine, upgrade_outdated=upgrade_outdated)
        except BaseException:
            self._engine.dispose()
            raise
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)

    # ------------------------------------------------------------------ plumbing
    @property
    def url(self) -> str:
        """The database URL with any password masked."""
        return safe_url(self._url)

    @property
    def backend(self) -> str:
        """`sqlite` or `postgresql`."""
        return self._url.get_backend_name()

    @property
    def engine(self) -> Engine:
        """The underlying engine (for maintenance tools and benchmarks; prefer the methods)."""
        return self._engine

    def close(self) -> None:
        """Release every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> AuditRepository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        """One session, one transaction; driver connection failures become one-line storage errors."""
        try:
            with self._sessions.begin() as session:
                yield session
        except (OperationalError, InterfaceError) as exc:
            raise unreachable_error(self._url, exc) from None

    def _run_row(self, session: Session, run_id: int) -> AuditRun:
        run = session.get(AuditRun, run_id)
        if run is None:
            raise NotFoundError(f"audit run {run_id} does not exist in {self.url}")
        return run

    # ------------------------------------------------------------------ model versions
    def get_or_create_model_version(self, record: ModelVersionRecord) -> ModelVersionRecord:
        """The stored model version with the record's (name, version), created when missing.

        The same (name, version) with another weights hash raises `IdentityConflictError`:
        registry versions are immutable, so a different hash means the wrong weights. Aliases
        (which move between versions) are updated to the record's when it lists any.
        """
        for attempt in range(2):
            try:
                with self._transaction() as session:
                    row = session.scalars(
                        select(ModelVersion).where(
                            ModelVersion.name == record.name, ModelVersion.version == record.version
                        )
                    ).one_or_none()
                    if row is None:
                        row = ModelVersion(
                            name=record.name,
                            version=record.version,
                            source_uri=record.source_uri,
                            weights_hash=record.weights_hash,
                            architecture=record.architecture,
                            mlflow_run_id=record.run_id,
                            aliases=list(record.aliases),
                        )
                        if record.created_at is not None:
                            row.created_at = _utc(record.created_at, "model version created_at")
                        session.add(row)
                        session.flush()
                    else:
                        if row.weights_hash != record.weights_hash:
                            raise IdentityConflictError(
                                f"model {record.name!r} version {record.version!r} is stored with weights hash "
                                f"{row.weights_hash[:12]}..., not {record.weights_hash[:12]}...; registry versions "
                                "must not change their weights"
                            )
                        if record.aliases and list(record.aliases) != list(row.aliases):
                            row.aliases = list(record.aliases)
                        if row.mlflow_run_id is None and record.run_id is not None:
                            row.mlflow_run_id = record.run_id
                    return _model_version_record(row)
            except IntegrityError:
                if attempt:  # another process created it between our read and write; read it again
                    raise
        raise AssertionError("unreachable")

    def get_model_version(self, model_version_id: int) -> ModelVersionRecord:
        with self._transaction() as session:
            row = session.get(ModelVersion, model_version_id)
            if row is None:
                raise NotFoundError(f"model version {model_version_id} does not exist in {self.url}")
            return _model_version_record(row)

    def find_model_version(self, name: str, version: str) -> ModelVersionRecord | None:
        with self._transaction() as session:
            row = session.scalars(
                select(ModelVersion).where(ModelVersion.name == name, ModelVersion.version == version)
            ).one_or_none()
            return None if row is None else _model_version_record(row)

    # ------------------------------------------------------------------ probe sets
    def get_or_create_probe_set(self, record: ProbeSetRecord, probes: Sequence[ProbeRecord]) -> ProbeSetRecord:
        """The stored probe set with the record's content hash, created with its probes when missing."""
        keys = [p.probe_key for p in probes]
        if len(set(keys)) != len(keys):
            dupes = sorted({k for k in keys if keys.count(k) > 1})
            raise StorageInputError(f"probe set {record.name!r} repeats probe keys {dupes[:5]}")
        if record.n_probes and record.n_probes != len(probes):
            raise StorageInputError(
                f"probe set {record.name!r} says n_probes={record.n_probes} but {len(probes)} probes were given"
            )
        for attempt in range(2):
            try:
                with self._transaction() as session:
                    row = session.scalars(
                        select(ProbeSet).where(ProbeSet.content_hash == record.content_hash)
                    ).one_or_none()
                    if row is None:
                        row = ProbeSet(
                            name=record.name,
                            version=record.version,
                            content_hash=record.content_hash,
                            description=record.description,
                            n_probes=len(probes),
                            root=record.root,
                        )
                        session.add(row)
                        session.flush()
                        if probes:
                            session.execute(
                                insert(Probe),
                                [
                                    {
                                        "probe_set_id": row.id,
                                        "probe_key": p.probe_key,
                                        "image_path": p.image_path,
                                        "prompt": p.prompt,
                                        "object_words": [list(words) for words in p.object_words],
                                    }
                                    for p in probes
                                ],
                            )
                    return _probe_set_record(row)
            except IntegrityError:
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def get_probe_set(self, probe_set_id: int) -> ProbeSetRecord:
        with self._transaction() as session:
            row = session.get(ProbeSet, probe_set_id)
            if row is None:
                raise NotFoundError(f"probe set {probe_set_id} does not exist in {self.url}")
            return _probe_set_record(row)

    def list_probes(self, probe_set_id: int) -> list[ProbeRecord]:
        """The probes of a probe set, in the order they were stored."""
        with self._transaction() as session:
            if session.get(ProbeSet, probe_set_id) is None:
                raise NotFoundError(f"probe set {probe_set_id} does not exist in {self.url}")
            rows = session.scalars(select(Probe).where(Probe.probe_set_id == probe_set_id).order_by(Probe.id))
            return [
                ProbeRecord(
                    probe_key=r.probe_key,
                    image_path=r.image_path,
                    prompt=r.prompt,
                    object_words=tuple(tuple(words) for words in r.object_words),
                    id=r.id,
                )
                for r in rows
            ]

    # ------------------------------------------------------------------ runs
    def start_run(
        self,
        model_version_id: int,
        probe_set_id: int,
        config: Mapping[str, Any],
        package_versions: Mapping[str, str] | None = None,
        code_version: str = "",
    ) -> AuditRunRecord:
        """Start the run identified by (model version, probe set, config hash), or resume it.

        An existing unfinished or failed run of the same identity is set back to `running` and
        returned (its completed probes stay; `completed_probe_keys` tells what is left). A
        completed run is returned unchanged. Package and code versions of the first start are kept.
        """
        canonical = canonical_config(config)
        digest = config_hash(canonical)
        for attempt in range(2):
            try:
                with self._transaction() as session:
                    if session.get(ModelVersion, model_version_id) is None:
                        raise NotFoundError(f"model version {model_version_id} does not exist in {self.url}")
                    if session.get(ProbeSet, probe_set_id) is None:
                        raise NotFoundError(f"probe set {probe_set_id} does not exist in {self.url}")
                    run = session.scalars(
                        select(AuditRun).where(
                            AuditRun.model_version_id == model_version_id,
                            AuditRun.probe_set_id == probe_set_id,
                            AuditRun.config_hash == digest,
                        )
                    ).one_or_none()
                    now = utc_now()
                    if run is None:
                        run = AuditRun(
                            model_version_id=model_version_id,
                            probe_set_id=probe_set_id,
                            config_hash=digest,
                            config=canonical,
                            status="running",
                            started_at=now,
                            updated_at=now,
                            package_versions=dict(package_versions or {}),
                            code_version=code_version,
                            timings={},
                            resume_count=0,
                        )
                        session.add(run)
                        session.flush()
                    elif run.status != "completed":
                        if code_version and run.code_version and code_version != run.code_version:
                            log.warning(
                                "resuming run %s started with code %s using code %s",
                                run.id,
                                run.code_version,
                                code_version,
                            )
                        run.status = "running"
                        run.finished_at = None
                        run.error = None
                        run.updated_at = now
                        run.resume_count = run.resume_count + 1
                    return _run_record(run)
            except IntegrityError:
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def finish_run(
        self,
        run_id: int,
        status: RunStatus,
        timings: Mapping[str, float] | None = None,
        error: str | None = None,
    ) -> AuditRunRecord:
        """Mark a run `completed` or `failed`; timings are merged into the stored ones."""
        if status not in _FINAL_STATUSES:
            raise StorageInputError(f"a run finishes as one of {sorted(_FINAL_STATUSES)}, not {status!r}")
        with self._transaction() as session:
            run = self._run_row(session, run_id)
            now = utc_now()
            run.status = status
            run.finished_at = now
            run.updated_at = now
            run.timings = {**run.timings, **{k: float(v) for k, v in (timings or {}).items()}}
            run.error = error
            return _run_record(run)

    def get_run(self, run_id: int) -> AuditRunRecord:
        with self._transaction() as session:
            return _run_record(self._run_row(session, run_id))

    def list_runs(
        self,
        model_name: str | None = None,
        *,
        probe_set_id: int | None = None,
        status: RunStatus | None = None,
    ) -> list[AuditRunRecord]:
        """Runs, newest first, optionally of one model (any version), one probe set, one status."""
        if status is not None and status not in _RUN_STATUSES:
            raise StorageInputError(f"run status must be one of {sorted(_RUN_STATUSES)}, not {status!r}")
        query = select(AuditRun).order_by(AuditRun.started_at.desc(), AuditRun.id.desc())
        if model_name is not None:
            query = query.join(ModelVersion, ModelVersion.id == AuditRun.model_version_id).where(
                ModelVersion.name == model_name
            )
        if probe_set_id is not None:
            query = query.where(AuditRun.probe_set_id == probe_set_id)
        if status is not None:
            query = query.where(AuditRun.status == status)
        with self._transaction() as session:
            return [_run_record(r) for r in session.scalars(query)]

    def find_baseline_run(self, model_version_id: int, probe_set_id: int, config_hash: str) -> AuditRunRecord | None:
        """The completed run of that model version on that probe set with that config, if any."""
        with self._transaction() as session:
            run = session.scalars(
                select(AuditRun).where(
                    AuditRun.model_version_id == model_version_id,
                    AuditRun.probe_set_id == probe_set_id,
                    AuditRun.config_hash == config_hash,
                    AuditRun.status == "completed",
                )
            ).one_or_none()
            return None if run is None else _run_record(run)

    # ------------------------------------------------------------------ probe results
    def completed_probe_keys(self, run_id: int) -> set[str]:
        """Keys of the probes whose results are stored for this run (what a resume skips)."""
        with self._transaction() as session:
            self._run_row(session, run_id)
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
            _validate_result(result)
        try:
            return self._insert_results(run_id, batch)
        except IntegrityError as exc:
            if len(batch) > 1:
                return sum(self.add_probe_results(run_id, [r]) for r in batch)
            with self._transaction() as session:
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
        with self._transaction() as session:
            run = self._run_row(session, run_id)
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
                metrics.extend(
                    {
                        "run_id": run_id,
                        "probe_id": probe_id,
                        "method": m.method,
                        "metric": m.metric,
                        "word": m.word,
                        "value": float(m.value),
                        "direction": m.direction,
                        "metric_version": m.metric_version,
                    }
                    for m in result.metrics
                )
            map_rows = _map_rows(run_id, maps, map_probe_ids)
            session.execute(insert(Generation), generations)
            if map_rows:
                _insert_map_rows(session, map_rows)
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
            _validate_metric(m)
        _check_unique_metrics(metrics, "aggregate metrics")
        with self._transaction() as session:
            self._run_row(session, run_id)
            session.execute(delete(Metric).where(Metric.run_id == run_id, Metric.probe_id.is_(None)))
            if metrics:
                session.execute(
                    insert(Metric),
                    [
                        {
                            "run_id": run_id,
                            "probe_id": None,
                            "method": m.method,
                            "metric": m.metric,
                            "word": m.word,
                            "value": float(m.value),
                            "direction": m.direction,
                            "metric_version": m.metric_version,
                        }
                        for m in metrics
                    ],
                )
            return len(metrics)

    # ------------------------------------------------------------------ reading results
    def get_generations(self, run_id: int) -> list[GenerationRecord]:
        """The run's generations, ordered by probe key."""
        with self._transaction() as session:
            self._run_row(session, run_id)
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
                TokenAttribution.mass_in_mask,
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
        with self._transaction() as session:
            self._run_row(session, run_id)
            answers = {pid: (key, tokens, words) for pid, key, tokens, words in session.execute(tokens_query)}
            rows = session.execute(query).all()
        out = []
        for probe_id, token_index, meth, blob, peak_row, peak_col, mass in rows:
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
                    mass_in_mask=mass,
                )
            )
        return out

    def get_metrics(self, run_id: int, aggregate_only: bool = False) -> list[MetricRecord]:
        """Metrics of a run: aggregates first, then per probe (by key), each by method and metric."""
        query = (
            select(Metric, Probe.probe_key)
            .outerjoin(Probe, Probe.id == Metric.probe_id)
            .where(Metric.run_id == run_id)
            .order_by(Probe.probe_key.is_not(None), Probe.probe_key, Metric.method, Metric.metric, Metric.word)
        )
        if aggregate_only:
            query = query.where(Metric.probe_id.is_(None))
        with self._transaction() as session:
            self._run_row(session, run_id)
            rows = session.execute(query).all()
        return [
            MetricRecord(
                method=m.method,
                metric=m.metric,
                value=m.value,
                direction=m.direction,  # type: ignore[arg-type]
                metric_version=m.metric_version,
                probe_key=key,
                word=m.word,
            )
            for m, key in rows
        ]

    # ------------------------------------------------------------------ comparisons and alerts
    def add_comparisons(self, comparisons: Sequence[ComparisonRecord]) -> list[ComparisonRecord]:
        """Store comparisons; one for the same (candidate, baseline, method, metric) is replaced."""
        for c in comparisons:
            if c.verdict not in _VERDICTS:
                raise StorageInputError(f"comparison verdict must be one of {sorted(_VERDICTS)}, not {c.verdict!r}")
        seen = [(c.candidate_run_id, c.baseline_run_id, c.method, c.metric) for c in comparisons]
        if len(set(seen)) != len(seen):
            raise StorageInputError("the same (candidate, baseline, method, metric) appears twice in one call")
        stored = []
        with self._transaction() as session:
            for run_id in {c.candidate_run_id for c in comparisons} | {c.baseline_run_id for c in comparisons}:
                self._run_row(session, run_id)
            for c in comparisons:
                session.execute(
                    delete(Comparison).where(
                        Comparison.candidate_run_id == c.candidate_run_id,
                        Comparison.baseline_run_id == c.baseline_run_id,
                        Comparison.method == c.method,
                        Comparison.metric == c.metric,
                    )
                )
                row = Comparison(
                    candidate_run_id=c.candidate_run_id,
                    baseline_run_id=c.baseline_run_id,
                    method=c.method,
                    metric=c.metric,
                    delta=float(c.delta),
                    ci_low=float(c.ci_low),
                    ci_high=float(c.ci_high),
                    n_pairs=int(c.n_pairs),
                    tolerance=float(c.tolerance),
                    verdict=c.verdict,
                )
                session.add(row)
                session.flush()
                stored.append(_comparison_record(row))
        return stored

    def get_comparisons(self, candidate_run_id: int) -> list[ComparisonRecord]:
        with self._transaction() as session:
            rows = session.scalars(
                select(Comparison)
                .where(Comparison.candidate_run_id == candidate_run_id)
                .order_by(Comparison.baseline_run_id, Comparison.method, Comparison.metric)
            )
            return [_comparison_record(r) for r in rows]

    def add_alert(self, alert: AlertRecord) -> AlertRecord:
        if alert.verdict not in _VERDICTS:
            raise StorageInputError(f"alert verdict must be one of {sorted(_VERDICTS)}, not {alert.verdict!r}")
        with self._transaction() as session:
            self._run_row(session, alert.run_id)
            row = Alert(
                run_id=alert.run_id,
                verdict=alert.verdict,
                message=alert.message,
                channels=list(alert.channels),
                payload=dict(alert.payload),
            )
            if alert.created_at is not None:
                row.created_at = _utc(alert.created_at, "alert created_at")
            session.add(row)
            session.flush()
            return _alert_record(row)

    def get_alerts(self, run_id: int) -> list[AlertRecord]:
        with self._transaction() as session:
            rows = session.scalars(select(Alert).where(Alert.run_id == run_id).order_by(Alert.created_at, Alert.id))
            return [_alert_record(r) for r in rows]


# ---------------------------------------------------------------------- validation and conversion
def _utc(value: datetime, what: str) -> datetime:
    try:
        return to_utc(value)
    except ValueError:
        raise StorageInputError(f"{what} is a naive datetime ({value.isoformat()}); pass a timezone-aware one") from None


def _validate_metric(m: MetricRecord) -> None:
    if m.direction not in _DIRECTIONS:
        raise StorageInputError(
            f"metric {m.method}/{m.metric} has direction {m.direction!r}; expected one of {sorted(_DIRECTIONS)}"
        )
    if not np.isfinite(m.value):
        raise StorageInputError(f"metric {m.method}/{m.metric} of probe {m.probe_key} is {m.value}; must be finite")


def _check_unique_metrics(metrics: Sequence[MetricRecord], where: str) -> None:
    keys = [(m.probe_key, m.method, m.metric, m.word) for m in metrics]
    if len(set(keys)) != len(keys):
        dupes = sorted({k for k in keys if keys.count(k) > 1}, key=str)
        raise StorageInputError(f"{where} repeat (probe, method, metric, word) {dupes[:3]}")


def _validate_result(result: ProbeResult) -> None:
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
        _validate_metric(metric)
    _check_unique_metrics(result.metrics, f"metrics of probe {key!r}")


_MAP_COLUMNS = (
    "run_id",
    "probe_id",
    "token_index",
    "method",
    "grid_rows",
    "grid_cols",
    "peak_row",
    "peak_col",
    "mass_in_mask",
    "map_data",
)


def _insert_map_rows(session: Session, rows: list[tuple[Any, ...]]) -> None:
    """Insert token-map rows with the driver's executemany.

    Why not the ORM or a Core insert: this table receives hundreds of thousands of rows per audit,
    and SQLAlchemy's per-row parameter processing cost more than encoding and SQLite together
    (measured). The statement is fixed, the values are bound parameters, the columns are checked
    against the model by the migration test.
    """
    connection = session.connection()
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {TokenAttribution.__tablename__} ({', '.join(_MAP_COLUMNS)}) "
        f"VALUES ({', '.join([marker] * len(_MAP_COLUMNS))})"
    )
    connection.exec_driver_sql(sql, rows)


def _map_rows(run_id: int, maps: list[TokenMapRecord], probe_ids: list[int]) -> list[tuple[Any, ...]]:
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
                None if m.mass_in_mask is None else float(m.mass_in_mask),
                blobs[i],
            )
        )
    return rows


def _model_version_record(r: ModelVersion) -> ModelVersionRecord:
    return ModelVersionRecord(
        id=r.id,
        name=r.name,
        version=r.version,
        source_uri=r.source_uri,
        weights_hash=r.weights_hash,
        architecture=r.architecture,
        run_id=r.mlflow_run_id,
        aliases=tuple(r.aliases),
        created_at=r.created_at,
    )


def _probe_set_record(r: ProbeSet) -> ProbeSetRecord:
    return ProbeSetRecord(
        id=r.id,
        name=r.name,
        version=r.version,
        content_hash=r.content_hash,
        description=r.description,
        n_probes=r.n_probes,
        root=r.root,
    )


def _run_record(r: AuditRun) -> AuditRunRecord:
    return AuditRunRecord(
        id=r.id,
        model_version_id=r.model_version_id,
        probe_set_id=r.probe_set_id,
        config_hash=r.config_hash,
        config=dict(r.config),
        status=r.status,  # type: ignore[arg-type]
        started_at=r.started_at,
        finished_at=r.finished_at,
        package_versions=dict(r.package_versions),
        code_version=r.code_version,
        timings=dict(r.timings),
        error=r.error,
        resume_count=r.resume_count,
        updated_at=r.updated_at,
    )


def _comparison_record(r: Comparison) -> ComparisonRecord:
    return ComparisonRecord(
        candidate_run_id=r.candidate_run_id,
        baseline_run_id=r.baseline_run_id,
        method=r.method,
        metric=r.metric,
        delta=r.delta,
        ci_low=r.ci_low,
        ci_high=r.ci_high,
        n_pairs=r.n_pairs,
        tolerance=r.tolerance,
        verdict=r.verdict,  # type: ignore[arg-type]
        id=r.id,
        created_at=r.created_at,
    )


def _alert_record(r: Alert) -> AlertRecord:
    return AlertRecord(
        run_id=r.run_id,
        verdict=r.verdict,  # type: ignore[arg-type]
        message=r.message,
        channels=tuple(r.channels),
        payload=dict(r.payload),
        created_at=r.created_at,
        id=r.id,
    )
