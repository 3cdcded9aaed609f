"""Typed records that travel between `storage/` and its callers (`flows/`, `reports/`).

Why plain dataclasses holding numpy arrays: `storage/` must know nothing of torch or of
`auditors/`, and `reports/` must be able to render from the database alone. `flows/` converts an
`auditors.Explanation` into these records before writing, and reports read them back.

All timestamps are timezone-aware UTC datetimes, whatever the database backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np

RunStatus = Literal["running", "completed", "failed"]
Direction = Literal["higher_is_better", "lower_is_better"]
Verdict = Literal["pass", "warn", "fail"]
Decision = Literal["approved", "rejected"]
LedgerKind = Literal["run", "verdict", "signoff"]


@dataclass(frozen=True)
class ModelVersionRecord:
    """One registered model version, identified by (name, version) and its weights hash."""

    id: int | None
    name: str
    version: str
    source_uri: str  # e.g. "models:/demo-captioner/2"
    weights_hash: str  # sha256 over the weight files
    architecture: str  # e.g. "Qwen2_5_VLForConditionalGeneration"
    run_id: str | None = None  # MLflow run id, for lineage
    aliases: tuple[str, ...] = ()
    created_at: datetime | None = None  # when this database first stored the version
    registered_at: datetime | None = None  # when the registry created the version (None: not known)
    # True: `aliases` is the registry's complete current list (empty means the version has none);
    # False: nobody asked the registry, so an empty `aliases` says nothing
    aliases_known: bool = False


@dataclass(frozen=True)
class ProbeSetRecord:
    """A probe set, identified by its content hash (manifest plus every file's bytes)."""

    id: int | None
    name: str
    version: str
    content_hash: str
    description: str = ""
    n_probes: int = 0
    root: str = ""  # folder it was read from (informational; the hash is the identity)
    source: str | None = None  # where the images came from, as the probe set declares
    licence: str | None = None  # under which terms, as the probe set declares


@dataclass(frozen=True)
class ProbeRecord:
    """One probe of a probe set.

    The full image stays in the probe folder; `thumbnail` is a small copy (an encoded PNG or JPEG,
    at most 256 px a side, prepared by the caller) so that a report can be rebuilt from the
    database alone, without the folder.
    """

    probe_key: str  # the probe's id in probes.jsonl, e.g. "p001"
    image_path: str  # relative to the probe set folder
    prompt: str
    object_words: tuple[tuple[str, ...], ...] = ()  # one tuple of words per object with a mask
    id: int | None = None
    thumbnail: bytes | None = None


@dataclass(frozen=True)
class AuditRunRecord:
    """One audit of one model version on one probe set with one configuration.

    (model_version_id, probe_set_id, config_hash) is unique: rerunning the same audit resumes it.
    """

    id: int | None
    model_version_id: int
    probe_set_id: int
    config_hash: str
    config: dict[str, Any]
    status: RunStatus
    started_at: datetime | None = None
    finished_at: datetime | None = None
    package_versions: dict[str, str] = field(default_factory=dict)
    code_version: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    resume_count: int = 0  # how many times a rerun resumed this run
    updated_at: datetime | None = None  # last write (start, resume, probe result, finish)
    report_path: str | None = None  # where the audit wrote its report (set by the flow afterwards)


@dataclass(frozen=True)
class GenerationRecord:
    """The answer a model generated for one probe, with its token ids and decoded pieces."""

    probe_key: str
    prompt: str
    text: str
    token_ids: tuple[int, ...]
    tokens: tuple[str, ...]
    word_index: tuple[int, ...]  # word number per token (-1: not part of a word, e.g. EOS)


@dataclass
class TokenMapRecord:
    """One attribution map: one token of one probe's answer, by one method.

    `map` is a 2-D float array over the vision-token grid (stored as float16).
    `peak` is the (row, col) of the largest cell (computed by storage when not given).
    """

    probe_key: str
    token_index: int
    token_text: str
    word_index: int
    method: str
    map: np.ndarray
    peak: tuple[int, int] | None = None

    @property
    def grid_shape(self) -> tuple[int, int]:
        return (int(self.map.shape[0]), int(self.map.shape[1]))


@dataclass(frozen=True)
class MetricRecord:
    """One metric value; probe_key None means the aggregate over the run's probes.

    `word` narrows a per-probe value to one word (for paired comparisons by probe and word).
    """

    method: str
    metric: str
    value: float
    direction: Direction
    metric_version: str = "1"
    probe_key: str | None = None
    word: str | None = None


@dataclass(frozen=True)
class ProbeResult:
    """Everything one probe produced in one run: written in one transaction, exactly once."""

    probe_key: str
    generation: GenerationRecord
    maps: list[TokenMapRecord]
    metrics: list[MetricRecord]


@dataclass(frozen=True)
class ComparisonRecord:
    """Candidate-minus-baseline delta of one metric for one method, with its bootstrap CI.

    Stored only as part of a `VerdictRecord` (`AuditRepository.add_verdict`).
    """

    candidate_run_id: int
    baseline_run_id: int
    method: str
    metric: str
    delta: float
    ci_low: float
    ci_high: float
    n_pairs: int
    tolerance: float
    verdict: Verdict
    id: int | None = None
    created_at: datetime | None = None
    verdict_id: int | None = None  # the stored verdict this comparison belongs to (set by storage)


@dataclass(frozen=True)
class VerdictRecord:
    """The judgement of one candidate run against one baseline run, as it was made.

    Why stored whole: a report rendered later, the history table and a compliance dossier must
    show the verdict the audit returned, with its reasons and the settings that produced it, not
    one rebuilt from comparison rows under today's rules. `settings` is the comparison settings
    (tolerances, drift limits, ...) as JSON; `result` the full serialised comparison outcome as
    JSON, carrying its own stable `type` id and `version` so old rows load after refactors.
    (candidate_run_id, baseline_run_id, settings_hash) is unique: re-judging the same pair with
    the same settings returns the stored verdict instead of writing a second one.
    """

    candidate_run_id: int
    baseline_run_id: int
    verdict: Verdict
    headline: str  # one plain-language sentence: which check failed, by how much, what it means
    reasons: tuple[str, ...]  # every reason, worst first
    settings: dict[str, Any]
    result: dict[str, Any] = field(default_factory=dict)
    comparisons: tuple[ComparisonRecord, ...] = ()
    settings_hash: str = ""  # filled in by storage from `settings`
    id: int | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class AlertRecord:
    """An alert raised for a run (verdict fail or warn), and where it was sent."""

    run_id: int
    verdict: Verdict
    message: str
    channels: tuple[str, ...] = ()  # e.g. ("cli", "prefect-event", "mlflow-tag", "webhook")
    payload: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True)
class SignoffRecord:
    """A reviewer's decision on one model version, as recorded.

    `audit_run_id` and `audit_verdict` are the version's latest audit and its verdict when the
    decision was made (None: not audited, or audited without a verdict); `override` marks an
    approval given although that verdict was a fail (it needs a note saying why).
    """

    model_version_id: int
    reviewer: str
    decision: Decision
    note: str = ""
    override: bool = False
    audit_run_id: int | None = None
    audit_verdict: Verdict | None = None
    id: int | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class LedgerEntryRecord:
    """One link of a model's tamper-evident chain (`storage.ledger`).

    `content` holds the digest of each part of the referenced row (what verification compares to
    name what changed); `content_hash` is the hash of `content`; `entry_hash` hashes this entry's
    fields together with `previous_hash`, the entry hash of the link before it. `late` marks a row
    chained after it was stored (rows from before the ledger existed, chained at first use).
    """

    model_name: str
    sequence: int
    kind: LedgerKind
    reference: int  # the id of the run, verdict or sign-off row
    content: dict[str, str]
    content_hash: str
    previous_hash: str
    entry_hash: str
    late: bool = False
    id: int | None = None
    created_at: datetime | None = None
