"""The progress artifact in the Prefect UI reaches N/N, also without a terminal bar (deployments run
with `show_progress: false`, which once left the artifact at 0)."""

from __future__ import annotations

import pytest

from flows.audit import audit_model_version
from tests.flows.helpers import write_probe_set

N_PROBES = 6


def _progress_artifacts(flow_run_id):
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterType

    with get_client(sync_client=True) as client:
        return client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]), type=ArtifactFilterType(any_=["progress"])))


@pytest.mark.parametrize("show_progress", [False, True], ids=["deployment", "terminal"])
def test_the_progress_artifact_reaches_every_probe(audit_env, show_progress):
    probes = write_probe_set(audit_env["root"] / f"probes-progress-{show_progress}", n=N_PROBES,
                             name=f"progress-{show_progress}")
    state = audit_model_version(model_uri="models:/cap@champion", probe_set=str(probes), methods=["tam"],
                                batch_size=2, show_progress=show_progress, return_state=True)
    assert state.is_completed(), state.message
    (artifact,) = _progress_artifacts(state.state_details.flow_run_id)  # the champion has no baseline: one run
    assert artifact.data == pytest.approx(100.0)
    assert artifact.description.startswith(f"{N_PROBES}/{N_PROBES} probes of cap v1")
