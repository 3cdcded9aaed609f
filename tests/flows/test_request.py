"""AuditRequest: bad input is named before anything starts; the flow's plain parameters round-trip."""

from __future__ import annotations

import pytest

from flows.errors import FlowsInputError, ModelNotFoundError
from flows.request import AuditRequest
from storage.errors import InvalidDatabaseURLError
from tests.flows.helpers import write_probe_set


def test_flow_parameters_round_trip_and_stay_plain(tmp_path):
    probes = write_probe_set(tmp_path / "probes", n=1)
    request = AuditRequest(model_uri="models:/cap@candidate", probe_set=str(probes), methods=("tam",),
                           regression={"drift": {"affects_verdict": False}}, batch_size=4)
    parameters = request.flow_parameters()
    assert parameters["methods"] == ["tam"] and isinstance(parameters["regression"], dict)
    assert AuditRequest.from_parameters(**parameters) == request
    assert AuditRequest.from_parameters(model_uri="models:/cap/2").methods == ()  # the configured ones
    assert AuditRequest(model_uri="models:/cap/2").flow_parameters()["methods"] is None


def test_the_baseline_request_keeps_the_settings_and_judges_nothing():
    request = AuditRequest(model_uri="models:/cap/2", baseline_uri="models:/cap/1", out_dir="/tmp/r",
                           methods=("tam",), explain_settings={"max_new_tokens": 4})
    baseline = request.for_baseline("models:/cap/1")
    assert (baseline.model_uri, baseline.baseline_uri, baseline.compare, baseline.out_dir) == (
        "models:/cap/1", None, False, None)
    assert baseline.methods == ("tam",) and baseline.explain_settings == {"max_new_tokens": 4}


@pytest.mark.parametrize(
    "fields, error, message",
    [
        ({"model_uri": "runs:/abc"}, ModelNotFoundError, "not a registered-model URI"),
        ({"baseline_uri": "cap@champion"}, ModelNotFoundError, "not a registered-model URI"),
        ({"batch_size": 0}, FlowsInputError, "batch size must be a positive integer"),
        ({"methods": ("tam", "tam")}, FlowsInputError, "methods listed twice"),
        ({"probe_set": "/nowhere"}, FlowsInputError, "no probes.jsonl"),
        ({"db_url": "foo://bar/baz"}, InvalidDatabaseURLError, "unsupported database backend 'foo'"),
        ({"db_url": "sqlite:////no/such/folder/a.db"}, InvalidDatabaseURLError, "folder /no/such/folder"),
        ({"regression": {"drift": {"min_spearmann": 0.2}}}, FlowsInputError, "unknown drift settings"),
        ({"regression": {"tolerances": {"obj_iuo": 0.1}}}, FlowsInputError, r"unknown metric\(s\) obj_iuo"),
        ({"webhook_url": "hooks/regression"}, FlowsInputError, "webhook URL .* is not an http"),
        ({"out_dir": __file__}, FlowsInputError, "report folder is a file, not a folder"),
    ],
)
def test_bad_requests_are_named(fields, error, message):
    with pytest.raises(error, match=message):
        AuditRequest(**{"model_uri": "models:/cap/2", **fields})
