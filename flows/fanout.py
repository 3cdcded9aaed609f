"""Fan the probes of one run out to `explain-probes` tasks in batches and follow them.

Why a module of its own: submitting batches, a terminal progress bar, a progress artifact in the
Prefect UI and preparing the model and great-expectations in the background are the audit's
plumbing, apart from what the audit decides.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.futures import as_completed
from tqdm.auto import tqdm

from flows.registry import ResolvedModel
from flows.request import AuditRequest
from flows.tasks import explain_probes_task
from flows.worker import ProbeBatchResult


# the UI's progress artifact is updated at most this often (and once at the end): each update is an
# API call, and on a fast model a batch finishes every fraction of a second
PROGRESS_EVERY_S = 5.0


def chunks(keys: list[str], size: int) -> list[list[str]]:
    size = max(1, int(size))
    return [keys[i : i + size] for i in range(0, len(keys), size)]


class BackgroundPreparation:
    """Opens the model and then imports great-expectations on a background thread while the
    first batches explain; `close()` waits for it, so nothing imports in the background afterwards.

    Why this order: both go through the import gate (`flows.import_gate`); great-expectations
    waits until the model's first explanation has run, so the import never delays an explanation
    (it overlaps the batches after it) and is usually done when the first batch is validated.
    Only with the thread-pool runner, whose tasks share this process's caches; Dask workers
    prepare their own. A failure here is ignored: the batch that needs the same thing reports it.
    """

    def __init__(self, resolved: ResolvedModel, home: str) -> None:
        self._resolved, self._home = resolved, home
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._prepare, name="mllm-audit-prepare", daemon=True)

    @classmethod
    def start_if_useful(cls, resolved: ResolvedModel, home: str, todo: list[str]) -> "BackgroundPreparation | None":
        from prefect.context import FlowRunContext
        from prefect.task_runners import ThreadPoolTaskRunner

        context = FlowRunContext.get()
        if not todo or context is None or not isinstance(context.task_runner, ThreadPoolTaskRunner) \
                or resolved.local_dir is None:
            return None
        preparation = cls(resolved, home)
        preparation._thread.start()
        return preparation

    def _prepare(self) -> None:
        from flows.validation import prepare
        from flows.worker import model_for

        try:
            opened = model_for(str(self._resolved.local_dir), self._resolved.source_uri, self._home)
            while not opened.first_use.attempted.wait(0.05):
                if self._stop.is_set():
                    return
            if not self._stop.is_set():
                prepare()
        except Exception:  # noqa: BLE001 - see the class note
            pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def _progress_artifact(progress: float, description: str, artifact_id: Any = None) -> Any:
    """Progress in the Prefect UI; never lets an API hiccup break the audit."""
    try:
        if artifact_id is None:
            return create_progress_artifact(progress=progress, description=description)
        update_progress_artifact(artifact_id, progress=progress, description=description)
    except Exception:  # noqa: BLE001
        return artifact_id
    return artifact_id


def explain_all(run_id: int, todo: list[str], *, request: AuditRequest, probe_dir: str, resolved: ResolvedModel,
                methods: tuple[str, ...], db_url: str | None, home: str) -> tuple[int, dict[str, float]]:
    """Submit the batches, follow them with a terminal bar and a UI progress artifact; returns the
    probes written and the summed per-stage seconds. The first failed batch is raised at the end."""
    label = f"{resolved.name} v{resolved.version}"
    totals = {"explain_s": 0.0, "score_s": 0.0, "validate_s": 0.0, "store_s": 0.0}
    if not todo:
        return 0, totals
    local_dir = str(resolved.local_dir) if resolved.local_dir else None
    futures = [
        explain_probes_task.submit(run_id, batch, probe_dir, resolved.source_uri, local_dir, list(methods),
                                   dict(request.explain_settings), dict(request.metric_options), db_url, home)
        for batch in chunks(todo, request.batch_size)
    ]
    artifact = _progress_artifact(0.0, f"0/{len(todo)} probes of {label}")
    written = finished = 0  # `finished` counts itself: a disabled bar's counter stays at 0
    last_update = time.monotonic()
    pids: list[int] = []
    failures: list[Exception] = []
    with tqdm(total=len(todo), desc=f"audit {label}", unit="probe", disable=not request.show_progress,
              dynamic_ncols=True) as bar:
        for future in as_completed(futures):
            try:
                result: ProbeBatchResult = future.result()
            except Exception as exc:  # noqa: BLE001 - collected, the run is marked failed by the caller
                failures.append(exc)  # (an interruption is a BaseException: it stops the loop at once)
                continue
            written += len(result.written)
            pids.append(result.pid)
            for key in totals:
                totals[key] += getattr(result, key)
            finished += len(result.written) + len(result.skipped)
            bar.update(len(result.written) + len(result.skipped))
            if finished >= len(todo) or time.monotonic() - last_update >= PROGRESS_EVERY_S:
                _progress_artifact(100.0 * finished / len(todo), f"{finished}/{len(todo)} probes of {label}", artifact)
                last_update = time.monotonic()
    if failures:
        raise failures[0]
    totals["worker_processes"] = float(len(set(pids)))
    totals["batches_in_flow_process"] = float(sum(1 for pid in pids if pid == os.getpid()))
    return written, totals
