"""The audit flow end to end on tiny random Qwen2-VL models: store, compare, report, rerun, resume."""

from __future__ import annotations

import pytest

from flows.audit import audit_model_version, run_audit
from flows.errors import AuditRegressionError, ValidationFailedError
from flows.registry import register_model
from flows.request import AuditRequest
from flows.tasks import _transient
from flows.worker import repository_for, run_probe_batch
from tests.flows.helpers import write_probe_set

METHODS = ["tam", "msea_arc"]


def _audit(env, **overrides):
    parameters = dict(model_uri="models:/cap@candidate", probe_set=str(env["probes"]), methods=METHODS,
                      show_progress=False)
    parameters.update(overrides)
    return run_audit(AuditRequest.from_parameters(**parameters))


def test_candidate_is_audited_against_the_champion(audit_env):
    outcome = _audit(audit_env)
    repository = repository_for(audit_env["settings"].storage_url())
    run = repository.get_run(outcome.run_id)
    assert run.status == "completed"
    assert repository.completed_probe_keys(outcome.run_id) == {f"p{i:03d}" for i in range(5)}
    assert outcome.model.version == "2" and outcome.n_explained == 5 and outcome.n_resumed == 0
    # the champion had no run: it was audited first, on the same probe set and configuration
    baseline = repository.get_run(outcome.baseline_run_id)
    assert baseline.status == "completed" and baseline.config_hash == run.config_hash
    assert repository.get_model_version(baseline.model_version_id).version == "1"
    assert outcome.baseline_uri == "models:/cap@champion"
    # two unrelated random models look at different places: the drift check must fail
    assert outcome.verdict == "fail", outcome.reasons
    assert any("map_drift" in r for r in outcome.reasons)
    comparisons = repository.get_comparisons(outcome.run_id)
    assert comparisons and {c.baseline_run_id for c in comparisons} == {outcome.baseline_run_id}
    assert repository.get_alerts(outcome.run_id)
    assert outcome.report_html and open(outcome.report_html).read().lstrip().lower().startswith("<!doctype html")
    # aggregates were pooled from the per-probe values
    assert repository.get_metrics(outcome.run_id, aggregate_only=True)
    # the registry shows the verdict next to the version
    from mlflow import MlflowClient

    settings = audit_env["settings"]
    client = MlflowClient(settings.effective_tracking_uri, settings.effective_registry_uri)
    assert client.get_model_version("cap", "2").tags["mllm_audit.verdict"] == "fail"


def test_a_fail_verdict_ends_the_flow_run_failed_with_the_outcome(audit_env):
    state = audit_model_version(model_uri="models:/cap@candidate", probe_set=str(audit_env["probes"]),
                                methods=METHODS, show_progress=False, return_state=True)
    assert state.is_failed()
    with pytest.raises(AuditRegressionError) as caught:
        state.result()
    assert caught.value.outcome.report_html.endswith(".html")


def test_rerunning_reuses_the_run_and_duplicates_nothing(audit_env):
    repository = repository_for(audit_env["settings"].storage_url())
    first = _audit(audit_env)
    counts = (len(repository.get_generations(first.run_id)), len(repository.get_maps(first.run_id)),
              len(repository.get_comparisons(first.run_id)), len(repository.get_alerts(first.run_id)),
              len(repository.list_runs()))
    again = _audit(audit_env)
    assert again.run_id == first.run_id and again.baseline_run_id == first.baseline_run_id
    assert again.n_explained == 0 and again.n_resumed == 5
    assert (len(repository.get_generations(first.run_id)), len(repository.get_maps(first.run_id)),
            len(repository.get_comparisons(first.run_id)), len(repository.get_alerts(first.run_id)),
            len(repository.list_runs())) == counts


def test_identical_weights_pass_against_each_other(audit_env, saved_models):
    same = register_model(saved_models["a"], "cap", settings=audit_env["settings"], reuse_existing=False)
    outcome = _audit(audit_env, model_uri=same.source_uri, baseline_uri="models:/cap/1")
    assert outcome.verdict == "pass", outcome.reasons
    assert not outcome.failed


def test_a_partly_stored_run_is_resumed(audit_env):
    """Two probes stored by an earlier (interrupted) attempt: the flow explains only the rest."""
    from flows.identity import audit_config
    from flows.registry import resolve_model
    from flows.tasks import start_run_task

    settings = audit_env["settings"]
    probes = write_probe_set(audit_env["root"] / "probes-resume", n=5, name="resume").resolve()
    repository = repository_for(settings.storage_url())
    resolved = resolve_model("models:/cap@candidate", settings)
    config = audit_config(("tam",), {"max_new_tokens": 5}, {})
    run = start_run_task.fn(resolved, str(probes), config, settings.storage_url())
    run_probe_batch(run["run_id"], ["p000", "p003"], probe_dir=str(probes), model_uri=resolved.source_uri,
                    local_dir=str(resolved.local_dir), methods=("tam",), explain_settings={"max_new_tokens": 5},
                    metric_options={}, db_url=settings.storage_url())
    assert repository.completed_probe_keys(run["run_id"]) == {"p000", "p003"}

    outcome = _audit(audit_env, probe_set=str(probes), compare=False, methods=["tam"],
                     explain_settings={"max_new_tokens": 5})
    assert outcome.run_id == run["run_id"]
    assert (outcome.n_resumed, outcome.n_explained) == (2, 3)
    assert len(repository.get_generations(run["run_id"])) == 5
    assert repository.get_run(run["run_id"]).status == "completed"


def test_transient_failures_are_retried(audit_env, monkeypatch):
    import flows.tasks as audit_module

    calls: dict[str, int] = {}
    real = audit_module.run_probe_batch

    def flaky(run_id, keys, **kwargs):
        calls[keys[0]] = calls.get(keys[0], 0) + 1
        if calls[keys[0]] == 1:
            raise ConnectionError("database connection dropped")
        return real(run_id, keys, **kwargs)

    monkeypatch.setattr(audit_module, "run_probe_batch", flaky)
    probes = write_probe_set(audit_env["root"] / "probes-flaky", n=3, name="flaky")
    outcome = _audit(audit_env, probe_set=str(probes), compare=False, methods=["tam"])
    assert outcome.n_explained == 3
    assert calls and all(n == 2 for n in calls.values())


def test_input_errors_are_not_retried():
    from prefect.states import Failed

    assert not _transient(None, None, Failed(data=ValidationFailedError("attribution_table", ["x"])))
    assert _transient(None, None, Failed(data=ConnectionError("reset")))


def test_an_invalid_probe_set_stops_the_run_before_anything_is_written(audit_env):
    repository = repository_for(audit_env["settings"].storage_url())
    before = len(repository.list_runs())
    broken = write_probe_set(audit_env["root"] / "probes-broken", n=3, name="broken")
    (broken / "images" / "p001.png").unlink()
    with pytest.raises(ValidationFailedError, match="image file exists"):
        _audit(audit_env, probe_set=str(broken))
    assert len(repository.list_runs()) == before


def test_unknown_methods_and_settings_are_input_errors(audit_env):
    from flows.errors import FlowsInputError

    with pytest.raises(FlowsInputError, match="unknown method"):
        _audit(audit_env, methods=["tam", "nonsense"])
    with pytest.raises(FlowsInputError, match="unknown explain setting"):
        _audit(audit_env, explain_settings={"max_tokens": 3})
