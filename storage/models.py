"""SQLAlchemy 2 ORM models: the tables of docs/DESIGN.md section 7.

Why these keys: a run is identified by (model version, probe set, config hash), and everything a
probe produces in a run is keyed by (run, probe) so that unique constraints, not application
logic, guarantee that a resumed or concurrent run never writes a probe twice. Token maps hang off
(run, probe) directly (not off the generation row) so a batch of maps can be inserted without
first reading generated ids back.

The schema itself is created by the Alembic migrations in `storage/migrations/`; these models must
match them (a test compares the migrated database with this metadata).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import JSONType, UTCDateTime, utc_now

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType, list[Any]: JSONType}


class ModelVersion(Base):
    """A registered model version; (name, version) is its identity, the weights hash its proof."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(64))
    source_uri: Mapped[str] = mapped_column(Text)
    weights_hash: Mapped[str] = mapped_column(String(128))
    architecture: Mapped[str] = mapped_column(String(255))
    mlflow_run_id: Mapped[str | None] = mapped_column(String(64))
    aliases: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    registered_at: Mapped[datetime | None]  # the registry's creation time of the version


class ProbeSet(Base):
    """A probe set, identified by the hash of its content."""

    __tablename__ = "probe_sets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(128), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    n_probes: Mapped[int] = mapped_column(Integer, default=0)
    root: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    source: Mapped[str | None] = mapped_column(Text)  # where the images came from (as declared)
    licence: Mapped[str | None] = mapped_column(Text)  # under which terms (as declared)


class Probe(Base):
    """One probe (image path, prompt, object words, thumbnail) of a probe set."""

    __tablename__ = "probes"
    __table_args__ = (UniqueConstraint("probe_set_id", "probe_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    probe_set_id: Mapped[int] = mapped_column(ForeignKey("probe_sets.id", ondelete="CASCADE"))
    probe_key: Mapped[str] = mapped_column(String(255))
    image_path: Mapped[str] = mapped_column(Text)
    prompt: Mapped[str] = mapped_column(Text)
    object_words: Mapped[list[Any]] = mapped_column(default=list)
    thumbnail: Mapped[bytes | None] = mapped_column(LargeBinary)  # small PNG/JPEG for reports


class AuditRun(Base):
    """One audit of one model version on one probe set with one configuration."""

    __tablename__ = "audit_runs"
    __table_args__ = (UniqueConstraint("model_version_id", "probe_set_id", "config_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), index=True)
    probe_set_id: Mapped[int] = mapped_column(ForeignKey("probe_sets.id"), index=True)
    config_hash: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(default=utc_now)
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)
    package_versions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    code_version: Mapped[str] = mapped_column(String(255), default="")
    timings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    resume_count: Mapped[int] = mapped_column(Integer, default=0)
    report_path: Mapped[str | None] = mapped_column(Text)  # where the audit wrote its report


class Generation(Base):
    """The answer generated for one probe in one run; its presence marks the probe as done."""

    __tablename__ = "generations"
    __table_args__ = (UniqueConstraint("run_id", "probe_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("audit_runs.id", ondelete="CASCADE"))
    probe_id: Mapped[int] = mapped_column(ForeignKey("probes.id"))
    prompt: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    token_ids: Mapped[list[Any]] = mapped_column(default=list)
    tokens: Mapped[list[Any]] = mapped_column(default=list)
    word_index: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class TokenAttribution(Base):
    """One token's attribution map by one method, encoded by `storage.encoding`, with summaries.

    The natural key is the primary key (no surrogate id): this table holds almost all the rows of
    an audit, and on PostgreSQL a second index plus an id column cost ~0.1 byte per map cell. The
    token's text and word index live once in `generations` (tokens, word_index), not once per map
    and method; the repository checks them on write and fills them in on read.
    Columns are ordered fixed-width first, widest alignment last among them, so PostgreSQL pads
    nothing between them.
    """

    __tablename__ = "token_attributions"

    run_id: Mapped[int] = mapped_column(ForeignKey("audit_runs.id", ondelete="CASCADE"), primary_key=True)
    probe_id: Mapped[int] = mapped_column(ForeignKey("probes.id"), primary_key=True)
    token_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    method: Mapped[str] = mapped_column(String(32), primary_key=True)
    grid_rows: Mapped[int] = mapped_column(SmallInteger)
    grid_cols: Mapped[int] = mapped_column(SmallInteger)
    peak_row: Mapped[int | None] = mapped_column(SmallInteger)
    peak_col: Mapped[int | None] = mapped_column(SmallInteger)
    map_data: Mapped[bytes] = mapped_column(LargeBinary)


class Metric(Base):
    """A metric value of a run: per probe (and optionally per word), or the run aggregate.

    Uniqueness spans NULLs (aggregate rows have no probe, most rows no word) through an expression
    index, because both SQLite and PostgreSQL treat NULLs as distinct in plain unique constraints.
    """

    __tablename__ = "metrics"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("audit_runs.id", ondelete="CASCADE"))
    probe_id: Mapped[int | None] = mapped_column(ForeignKey("probes.id"))
    method: Mapped[str] = mapped_column(String(32))
    metric: Mapped[str] = mapped_column(String(64))
    word: Mapped[str | None] = mapped_column(String(255))
    value: Mapped[float] = mapped_column(Float)
    direction: Mapped[str] = mapped_column(String(20))
    metric_version: Mapped[str] = mapped_column(String(32), default="1")


Index(
    "uq_metrics_value",
    Metric.run_id,
    func.coalesce(Metric.probe_id, -1),
    Metric.method,
    Metric.metric,
    func.coalesce(Metric.word, ""),
    unique=True,
)


class Verdict(Base):
    """The judgement of a candidate run against a baseline run, stored as it was made.

    (candidate, baseline, settings hash) is unique: the same pair judged under the same settings
    is one verdict; other settings make another. `result` carries its own type id and version.
    """

    __tablename__ = "verdicts"
    __table_args__ = (UniqueConstraint("candidate_run_id", "baseline_run_id", "settings_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_run_id: Mapped[int] = mapped_column(ForeignKey("audit_runs.id", ondelete="CASCADE"))
    baseline_run_id: Mapped[int] = mapped_column(ForeignKey("audit_runs.id", ondelete="CASCADE"))
    verdict: Mapped[str] = mapped_column(String(8))
    headline: Mapped[str] = mapped_column(Text)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    settings_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Comparison(Base):
    """Candidate-minus-baseline delta of one metric for one method, with its CI and verdict.

    Each belongs to one verdict; the run ids repeat the verdict's so a run's comparisons are
    found by one indexed column.
    """

    __tablename__ = "comparisons"
    __table_args__ = (UniqueConstraint("verdict_id", "method", "metric"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    verdict_id: Mapped[int] = mapped_column(ForeignKey("verdicts.id", ondelete="CASCADE"))
    candidate_run_id: Mapped[int] = mapped_column(ForeignKey("audit_runs.id", ondelete="CASCADE"), index=True)
    baseline_run_id: Mapped[int] = mapped_column(ForeignKey("audit_runs.id", ondelete="CASCADE"))
    method: Mapped[str] = mapped_column(String(32))
    metric: Mapped[str] = mapped_column(String(64))
    delta: Mapped[float] = mapped_column(Float)
    ci_low: Mapped[float] = mapped_column(Float)
    ci_high: Mapped[float] = mapped_column(Float)
    n_pairs: Mapped[int] = mapped_column(Integer)
    tolerance: Mapped[float] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Alert(Base):
    """An alert raised for a run, and the channels it was sent to."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("audit_runs.id", ondelete="CASCADE"), index=True)
    verdict: Mapped[str] = mapped_column(String(8))
    message: Mapped[str] = mapped_column(Text)
    channels: Mapped[list[Any]] = mapped_column(default=list)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Signoff(Base):
    """A reviewer's decision on a model version, with the audit it was made on."""

    __tablename__ = "signoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), index=True)
    reviewer: Mapped[str] = mapped_column(String(255))
    decision: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    override: Mapped[bool] = mapped_column(Boolean, default=False)
    audit_run_id: Mapped[int | None] = mapped_column(ForeignKey("audit_runs.id"))
    audit_verdict: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class LedgerEntry(Base):
    """One link of a model's hash chain over its audit results, verdicts and sign-offs.

    (model_name, sequence) is unique, so two writers appending at once cannot both take the same
    place (a fork); (kind, reference) is unique, so a row is chained once. No foreign key to the
    referenced row: a deleted row must leave its link behind, to be reported as deleted.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (UniqueConstraint("model_name", "sequence"), UniqueConstraint("kind", "reference"))

    id: Mapped[int] = mapped_column(primary_key=True)
    model_name: Mapped[str] = mapped_column(String(255))
    sequence: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    reference: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    previous_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
