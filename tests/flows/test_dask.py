"""The documented Dask option: probe batches fan out to a local two-worker cluster (processes)."""

from __future__ import annotations

import pytest

from flows.audit import run_audit
from flows.request import AuditRequest
from flows.runners import dask_task_runner
from flows.worker import repository_for
from tests.flows.helpers import write_probe_set


@pytest.mark.slow
def test_audit_on_a_local_two_worker_dask_cluster(audit_env):
    probes = write_probe_set(audit_env["root"] / "probes-dask", n=6, name="dask")
    request = AuditRequest(model_uri="models:/cap/1", probe_set=str(probes), methods=("tam",), compare=False,
                           batch_size=1, show_progress=False)
    outcome = run_audit(request, dask_task_runner("local", n_workers=2))
    repository = repository_for(audit_env["settings"].storage_url())
    assert outcome.n_explained == 6
    assert repository.completed_probe_keys(outcome.run_id) == {f"p{i:03d}" for i in range(6)}
    # every batch ran in a Dask worker process, none in the flow's own process
    assert outcome.timings["batches_in_flow_process"] == 0
    assert outcome.timings["worker_processes"] >= 1
