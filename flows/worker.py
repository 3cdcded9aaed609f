"""The work one task does for a batch of probes, and the per-process caches it needs.

Why separate from the Prefect tasks: tasks receive only paths, ids and plain settings (Prefect
hashes task inputs and Dask pickles them; a torch model must never travel), so whatever process
runs the task (a thread of the flow's process, or a Dask worker on another machine) opens the model
and the probe set itself, once, and keeps them here. The function is plain Python so that unit
tests and the overhead benchmark can call it without Prefect.

Per batch: explain the probes not yet stored (several per forward), score them, convert them to
storage records, validate the batch's attribution table (great-expectations), then store the batch
in one transaction. Nothing of a batch is written when its table fails validation.

Threads: the flow's thread pool runs several batches at once (explanations take turns on the
model's lock) and `flows.fanout` may open the model on a background thread; first imports of the
heavy stack go through `flows.import_gate`.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

from flows.convert import explanation_to_probe_result
from flows.import_gate import FirstUse, first_imports
from flows.stopping import raise_if_stopping

_LOCK = threading.Lock()  # guards the caches below, never held while loading or importing
_MAKING: dict[tuple[int, Any], threading.Lock] = {}
_MODELS: dict[str, "OpenedModel"] = {}
_PROBE_SETS: dict[tuple[Any, ...], Any] = {}
_LAYOUTS: dict[tuple[Any, ...], Any] = {}
_REPOSITORIES: dict[str, Any] = {}
_PROBE_SET_ROWS: dict[tuple[Any, ...], Any] = {}


_T = TypeVar("_T")
MAX_FORWARD_BATCH = 16  # probes per forward: a padded batch's activations grow with it (see explain_batch)


def _once(cache: dict[Any, Any], key: Any, make: Callable[[], _T]) -> _T:
    """`cache[key]`, made by `make()` the first time it is asked for in this process.

    Why not simply under `_LOCK`: making takes seconds (opening a model, reading a probe set) and
    must not stall the other caches; two threads asking for the same key at once still make it once.
    """
    with _LOCK:
        if key in cache:
            return cache[key]
        making = _MAKING.setdefault((id(cache), key), threading.Lock())
    with making:
        with _LOCK:
            if key in cache:
                return cache[key]
        value = make()
        with _LOCK:
            cache[key] = value
        return value


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


@dataclass(frozen=True)
class OpenedModel:
    """A registered version opened in this process.

    `lock` serialises explanations on the one model object (explainers may hook its modules, so two
    threads must not run it at once; processes, e.g. Dask workers, each have their own copy).
    `first_use` runs the first explanation through the import gate (`flows.import_gate`).
    """

    model: Any
    processor: Any
    lock: threading.Lock
    first_use: FirstUse


def model_for(local_dir: str | None, model_uri: str, home: str | None = None) -> OpenedModel:
    """The opened model of a registered version, once per process.

    Opening goes through the import gate (transformers imports the model's modules on first use).
    A worker that lacks the flow's download folder (another machine) resolves the URI itself.
    """

    def open_model() -> OpenedModel:
        with first_imports():
            model, processor = _open_model(local_dir, model_uri, home)
        return OpenedModel(model, processor, threading.Lock(), FirstUse())

    return _once(_MODELS, local_dir or model_uri, open_model)


def _open_model(local_dir: str | None, model_uri: str, home: str | None) -> tuple[Any, Any]:
    from auditors import load_pretrained

    quiet_model_loading()
    if local_dir and Path(local_dir).is_dir():
        return load_pretrained(local_dir)
    from flows.config import load_settings
    from flows.registry import load_model

    settings = load_settings(home=home) if home else load_settings()
    model, processor, _ = load_model(model_uri, settings)
    return model, processor


def quiet_model_loading() -> None:
    """No per-weight progress bar from transformers: the audit's own bar (or the command's own
    output) is the one to read."""
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
    """The loaded (so validated) probe set, once per process and folder state: loading decodes every
    image and mask and hashes every file."""
    from auditors.probes import load_probe_set

    return _once(_PROBE_SETS, probe_set_fingerprint(probe_dir), lambda: load_probe_set(probe_dir))


def probe_layout_for(probe_dir: str) -> Any:
    """The probe set's layout for the comparison (`auditors.probes.layout`: masks read once), once
    per process and folder state."""

    def read_layout() -> Any:
        from auditors.probes.layout import probe_set_layout

        return probe_set_layout(probe_set_for(probe_dir))

    return _once(_LAYOUTS, probe_set_fingerprint(probe_dir), read_layout)


def registered_probe_set(repository: Any, probe_dir: str) -> Any:
    """The probe set's stored record, registered the first time it is seen (with a thumbnail per
    probe, `flows.convert.probe_set_records`); once per process, database and folder state.

    Thumbnails are made only when the database lacks the set (or some of its thumbnails): making
    them decodes every image again, and a nightly audit finds the set stored by its baseline's run.
    """
    from flows.convert import probe_set_records

    def register() -> Any:
        probe_set = probe_set_for(probe_dir)
        row = repository.find_complete_probe_set(probe_set.content_hash)
        if row is None:
            row = repository.get_or_create_probe_set(*probe_set_records(probe_set))
        return row

    return _once(_PROBE_SET_ROWS, (str(repository.url), *probe_set_fingerprint(probe_dir)), register)


def repository_for(db_url: str | None) -> Any:
    """One `AuditRepository` (engine and connection pool) per URL per process."""

    def connect() -> Any:
        with first_imports():  # SQLAlchemy and the migrations, e.g. on a Dask worker's task thread
            from storage.repository import AuditRepository

            return AuditRepository(db_url)

    return _once(_REPOSITORIES, db_url or "", connect)


def clear_caches() -> None:
    """Forget opened models, probe sets and repositories (tests; long-lived workers)."""
    with _LOCK:
        _MAKING.clear()
        _MODELS.clear()
        _PROBE_SETS.clear()
        _LAYOUTS.clear()
        _PROBE_SET_ROWS.clear()
        for repository in _REPOSITORIES.values():
            dispose = getattr(repository, "dispose", None) or getattr(repository, "close", None)
            if dispose:
                dispose()
        _REPOSITORIES.clear()


def explain_probes(opened: OpenedModel, probes: list[Any], methods: tuple[str, ...], settings: dict[str, Any],
                   batch_size: int) -> list[Any]:
    """The probes through the explainers, `batch_size` per forward (`auditors.explain_batch`; the
    caller holds the model's lock). The overhead benchmark's pure-explain side makes this same call."""
    from auditors import ExplainSettings, explain_batch

    explain_settings = ExplainSettings.from_dict(settings) if settings else None
    return explain_batch(opened.model, opened.processor, [probe.load_image() for probe in probes],
                         [probe.prompt for probe in probes], methods=tuple(methods), settings=explain_settings,
                         batch_size=batch_size)


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
            word_classes=probe_set.word_class_map(),
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
    """Explain, score, validate and store the probes of one batch that are not stored yet.

    The batch's probes share forwards (`explain_probes`) and land in one transaction, after the
    attribution-table suite passed: a batch is stored whole or not at all, and a resume redoes it.
    """
    from flows.validation import validate_attribution_table

    repository = repository_for(db_url)
    done = repository.completed_probe_keys(run_id)
    todo = [key for key in probe_keys if key not in done]
    skipped = tuple(key for key in probe_keys if key in done)
    if not todo:
        return ProbeBatchResult((), skipped, 0.0, 0.0, 0.0, 0.0, os.getpid())
    probe_set = probe_set_for(probe_dir)
    opened = model_for(local_dir, model_uri, home)
    probes = [probe_set.get(key) for key in todo]

    def explain_and_score() -> tuple[list[Any], list[list[Any]], float, float]:
        started = time.perf_counter()
        explanations = explain_probes(opened, probes, methods, explain_settings, min(len(probes), MAX_FORWARD_BATCH))
        explained = time.perf_counter()
        values = [score_probe(e, p, probe_set, opened.model, opened.processor, metric_options)
                  for e, p in zip(explanations, probes)]
        return explanations, values, explained - started, time.perf_counter() - explained

    raise_if_stopping()  # SIGTERM/SIGINT: stop before the next batch (nothing of this batch is stored)
    with opened.lock:  # timed inside: waiting for another thread's batch is not explain time
        explanations, values, explain_s, score_s = opened.first_use.run(explain_and_score)
    results = [explanation_to_probe_result(e, p, v, methods) for e, p, v in zip(explanations, probes, values)]

    started = time.perf_counter()
    validate_attribution_table(results, methods).raise_for_failures()
    validate_s = time.perf_counter() - started

    raise_if_stopping()
    started = time.perf_counter()
    n_new = repository.add_probe_results(run_id, results)
    store_s = time.perf_counter() - started
    # fewer new than sent: another writer of the same run stored some at the same moment (which
    # ones is not reported; the counts, which is what the caller sums, are right)
    written, skipped = tuple(todo[:n_new]), skipped + tuple(todo[n_new:])
    return ProbeBatchResult(written, skipped, explain_s, score_s, validate_s, store_s, os.getpid())
