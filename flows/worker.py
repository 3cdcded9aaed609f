"""The work one task does for a batch of probes, and the per-process caches it needs.

Why separate from the Prefect tasks: tasks receive only paths, ids and plain settings (Prefect
hashes task inputs and Dask pickles them; a torch model must never travel), so whatever process
runs the task (a thread of the flow's process, or a Dask worker on another machine) opens the model
and the probe set itself, once, and keeps them here. The function is plain Python so that unit
tests and the overhead benchmark can call it without Prefect.

Per batch: explain each probe not yet stored, score it, convert it to storage records, validate the
batch's attribution table (great-expectations), then store each probe in its own transaction.
Nothing of a batch is written when its table fails validation.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flows.convert import explanation_to_probe_result
from flows.stopping import raise_if_stopping

_LOCK = threading.Lock()
_MODELS: dict[str, tuple[Any, Any, threading.Lock]] = {}
_PROBE_SETS: dict[tuple[Any, ...], Any] = {}
_VALIDATED_SETS: set[tuple[Any, ...]] = set()
_REPOSITORIES: dict[str, Any] = {}
_PROBE_SET_ROWS: dict[tuple[Any, ...], Any] = {}


@dataclass(frozen=True)
class ProbeBatchResult:
    """What a batch did: small, so it can travel back from any worker."""

    written: tuple[str, ...]
    skipped: tuple[str, ...]
    explain_s: float
    score_s: float
    validate_s: float
    store_s: float
    pid: int = 0  # the process that did the work (the flow's own, or a Dask worker's)


def model_for(local_dir: str | None, model_uri: str, home: str | None = None) -> tuple[Any, Any, threading.Lock]:
    """The (model, processor, lock) of a registered version, opened once per process.

    The lock serialises explanations on one model object: explainers may hook the model's modules,
    so two threads must not run it at once (processes, e.g. Dask workers, each have their own).
    A worker that lacks the flow's download folder (another machine) resolves the URI itself.
    """
    with _LOCK:
        key = local_dir or model_uri
        if key in _MODELS:
            return _MODELS[key]
        from auditors import load_pretrained

        _quiet_model_loading()
        if local_dir and Path(local_dir).is_dir():
            model, processor = load_pretrained(local_dir)
        else:
            from flows.config import load_settings
            from flows.registry import load_model

            settings = load_settings(home=home) if home else load_settings()
            model, processor, _ = load_model(model_uri, settings)
        _MODELS[key] = (model, processor, threading.Lock())
        return _MODELS[key]


def _quiet_model_loading() -> None:
    """No per-weight progress bar from transformers: the audit's own bar is the one to watch."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:
        pass


def probe_set_fingerprint(probe_dir: str) -> tuple[Any, ...]:
    """Cheap change detector of a probe set folder (file and folder modification times).

    Why: loading a probe set hashes every file; the per-process cache must still notice a folder
    that was edited between two audits in one long-lived process (a notebook, a Dask worker).
    """
    root = Path(probe_dir)
    stamps: list[Any] = [str(root)]
    for path in (root, root / "probes.jsonl", root / "probeset.yaml", root / "images", root / "masks"):
        try:
            stamps.append(path.stat().st_mtime_ns)
        except OSError:
            stamps.append(None)
    return tuple(stamps)


def probe_set_for(probe_dir: str) -> Any:
    """The loaded probe set, once per process and folder state (loading hashes every file)."""
    key = probe_set_fingerprint(probe_dir)
    with _LOCK:
        if key not in _PROBE_SETS:
            from auditors.probes import load_probe_set

            _PROBE_SETS[key] = load_probe_set(probe_dir)
        return _PROBE_SETS[key]


def probe_set_rows(repository: Any, probe_dir: str) -> Any:
    """The probe set's stored record, registered the first time it is seen (with a thumbnail per
    probe, `flows.convert.probe_set_records`); once per process, database and folder state, since
    making thumbnails reads every image."""
    from flows.convert import probe_set_records

    key = (str(repository.url), *probe_set_fingerprint(probe_dir))
    with _LOCK:
        if key in _PROBE_SET_ROWS:
            return _PROBE_SET_ROWS[key]
    set_record, probe_records = probe_set_records(probe_set_for(probe_dir))
    row = repository.get_or_create_probe_set(set_record, probe_records)
    with _LOCK:
        _PROBE_SET_ROWS[key] = row
    return row


def probe_manifest_validated(probe_dir: str) -> bool:
    """True when this folder, unchanged, already passed the probe-manifest suite in this process."""
    return probe_set_fingerprint(probe_dir) in _VALIDATED_SETS


def mark_probe_manifest_validated(probe_dir: str) -> None:
    _VALIDATED_SETS.add(probe_set_fingerprint(probe_dir))


def repository_for(db_url: str | None) -> Any:
    """One `AuditRepository` (engine and connection pool) per URL per process."""
    key = db_url or ""
    with _LOCK:
        if key not in _REPOSITORIES:
            from storage.repository import AuditRepository

            _REPOSITORIES[key] = AuditRepository(db_url)
        return _REPOSITORIES[key]


def clear_caches() -> None:
    """Forget opened models, probe sets and repositories (tests; long-lived workers)."""
    with _LOCK:
        _MODELS.clear()
        _PROBE_SETS.clear()
        _VALIDATED_SETS.clear()
        _PROBE_SET_ROWS.clear()
        for repository in _REPOSITORIES.values():
            dispose = getattr(repository, "dispose", None) or getattr(repository, "close", None)
            if dispose:
                dispose()
        _REPOSITORIES.clear()


def explain_probe(model: Any, processor: Any, probe: Any, methods: tuple[str, ...], settings: dict[str, Any]) -> Any:
    """One probe through the explainers (plain call; the caller holds the model's lock)."""
    from auditors import ExplainSettings, explain

    explain_settings = ExplainSettings.from_dict(settings) if settings else None
    return explain(model, processor, probe.load_image(), probe.prompt, methods=tuple(methods), settings=explain_settings)


def score_probe(explanation: Any, probe: Any, probe_set: Any, model: Any, processor: Any, metric_options: dict[str, Any]) -> list[Any]:
    """The quality metrics of one explained probe.

    `metric_options`: `metrics` (metric or preset names; default: the "default" preset) and
    `faithfulness` (True adds deletion/insertion AUC, which replays the model on perturbed images).
    """
    from auditors.metrics import score_explanation

    scorer = None
    if metric_options.get("faithfulness"):
        from auditors.metrics import replay_scorer

        scorer = replay_scorer(model, processor, explanation.prompt, explanation.token_ids)
    metrics = metric_options.get("metrics")
    if metrics is not None and scorer is not None and "faithfulness" not in metrics:
        metrics = list(metrics) + ["faithfulness"]
    return list(
        score_explanation(
            explanation,
            probe,
            metrics=metrics,
            noun_vocabulary=probe_set.noun_vocabulary(),
            scorer=scorer,
            image=probe.load_image() if scorer is not None else None,
        )
    )


def run_probe_batch(
    run_id: int,
    probe_keys: list[str],
    *,
    probe_dir: str,
    model_uri: str,
    local_dir: str | None,
    methods: tuple[str, ...],
    explain_settings: dict[str, Any],
    metric_options: dict[str, Any],
    db_url: str | None,
    home: str | None = None,
) -> ProbeBatchResult:
    """Explain, score, validate and store the probes of one batch that are not stored yet."""
    from flows.validation import validate_attribution_table

    repository = repository_for(db_url)
    done = repository.completed_probe_keys(run_id)
    todo = [key for key in probe_keys if key not in done]
    skipped = tuple(key for key in probe_keys if key in done)
    if not todo:
        return ProbeBatchResult((), skipped, 0.0, 0.0, 0.0, 0.0, os.getpid())
    probe_set = probe_set_for(probe_dir)
    model, processor, model_lock = model_for(local_dir, model_uri, home)

    explain_s = score_s = 0.0
    results = []
    for key in todo:
        raise_if_stopping()  # SIGTERM/SIGINT: stop after the probe in hand (nothing of this batch is stored)
        probe = probe_set.get(key)
        with model_lock:  # timed inside: waiting for another thread's explanation is not explain time
            started = time.perf_counter()
            explanation = explain_probe(model, processor, probe, methods, explain_settings)
            explained = time.perf_counter()
            values = score_probe(explanation, probe, probe_set, model, processor, metric_options)
            scored = time.perf_counter()
        explain_s += explained - started
        score_s += scored - explained
        results.append(explanation_to_probe_result(explanation, probe, values, methods))

    started = time.perf_counter()
    validate_attribution_table(results, methods).raise_for_failures()
    validate_s = time.perf_counter() - started

    raise_if_stopping()
    started = time.perf_counter()
    written = [result.probe_key for result in results if repository.add_probe_result(run_id, result)]
    store_s = time.perf_counter() - started
    return ProbeBatchResult(tuple(written), skipped, explain_s, score_s, validate_s, store_s, os.getpid())
