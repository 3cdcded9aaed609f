"""Which Prefect task runner fans the probe batches out.

Default: a thread pool in the flow's process (the model is opened once and shared; a lock keeps
one explanation at a time on it while other threads validate and store). For users who outgrow
one machine: Dask through prefect-dask, either a cluster you already run
(`MLLM_AUDIT_DASK_ADDRESS=tcp://scheduler:8786`) or a throwaway local cluster of worker processes
(`MLLM_AUDIT_DASK_ADDRESS=local`, `MLLM_AUDIT_DASK_WORKERS=2`). Each Dask worker process opens the
model itself, once (see `flows/worker.py`).
"""

from __future__ import annotations

import os
import socket
from typing import Any

ENV_DASK_ADDRESS = "MLLM_AUDIT_DASK_ADDRESS"
ENV_DASK_WORKERS = "MLLM_AUDIT_DASK_WORKERS"
ENV_MAX_WORKERS = "MLLM_AUDIT_MAX_WORKERS"
SCHEDULER_CONNECT_TIMEOUT_S = 5.0


def thread_task_runner(max_workers: int | None = None) -> Any:
    from prefect.task_runners import ThreadPoolTaskRunner

    workers = max_workers or int(os.environ.get(ENV_MAX_WORKERS, "2"))
    return ThreadPoolTaskRunner(max_workers=max(1, workers))


def dask_task_runner(address: str | None = "local", n_workers: int | None = None) -> Any:
    """A `DaskTaskRunner`: `address` of a running scheduler, or "local"/None for a local cluster.

    The local cluster uses worker PROCESSES (one thread each) on 127.0.0.1 without a dashboard,
    which is what a test or a single big machine wants.
    """
    from prefect_dask import DaskTaskRunner

    if address and address != "local":
        return DaskTaskRunner(address=address)
    workers = n_workers or int(os.environ.get(ENV_DASK_WORKERS, "2"))
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": workers,
            "threads_per_worker": 1,
            "processes": True,
            "host": "127.0.0.1",
            "dashboard_address": None,
        },
    )


def check_scheduler_answers(address: str, timeout_s: float = SCHEDULER_CONNECT_TIMEOUT_S) -> None:
    """Raise `DaskUnreachableError` unless something accepts a TCP connection at the scheduler's
    host and port. Why before the flow: otherwise Dask's own client waits 30 s after Prefect has
    started and the run was opened, and its OSError reads as an internal error."""
    from flows.config import scheduler_endpoint
    from flows.errors import DaskUnreachableError

    try:
        endpoint = scheduler_endpoint(address)
        if endpoint is None:
            raise ValueError("not [tcp://]HOST:PORT")
        socket.create_connection(endpoint, timeout=timeout_s).close()
    except (OSError, ValueError, TypeError) as exc:
        raise DaskUnreachableError(f"no Dask scheduler answers at {address} ({exc or type(exc).__name__}); "
                                   "start it, or use --dask local") from exc


def default_task_runner() -> Any:
    """Dask when `MLLM_AUDIT_DASK_ADDRESS` is set (deployments set it in the work pool), else threads."""
    address = os.environ.get(ENV_DASK_ADDRESS)
    if address:
        return dask_task_runner(address)
    return thread_task_runner()
