"""The audit flow end to end on tiny random Qwen2-VL models: store, compare, report, rerun, resume."""

from __future__ import annotations

from comparison.settings import DriftConfig

import json
import os

import pytest

from flows.audit import audit_model_version, run_audit
from flows.errors import AuditRegressionError, ValidationFailedError
from flows.registry import register_model
from flows.request import AuditRequest
from flows.tasks import _transient
from flows.worker import repository_for, run_probe_batch
from tests.flows.helpers import database_rows, write_probe_set

METHODS = ["tam", "msea_arc"]


def _audit(env, **overrides):
    parameters = dict(model_uri="models:/cap@candidate", probe_set=str(env["probes"]), methods=METHODS,
                      show_progress=False)
    parameters.update(overrides)
    return run_audit(AuditRequest.from_parameters(**parameters))


def test_candidate_is_audited_against_the_champion(audit_env):
    # a probe set of its own: neither version has a run on it, whichever test ran before
    probes = write_probe_set(audit_env["root"] / "probes-first", n=5, name="first")
    outcome = _audit(audit_env, probe_set=str(probes))
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
    (stored,) = repository.get_verdicts(outcome.run_id)  # the verdict is a record, with its settings
    assert (stored.verdict, stored.baseline_run_id, stored.headline) == ("fail", outcome.baseline_run_id, outcome.reason)
    assert stored.settings["drift"]["min_spearman"] == DriftConfig().min_spearman and stored.comparisons
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

    def counts(run_id):
        return (len(repository.get_generations(run_id)), len(repository.get_maps(run_id)),
                len(repository.get_verdicts(run_id)), len(repository.get_comparisons(run_id)),
                len(repository.get_alerts(run_id)), len(repository.list_runs()))

    first = _audit(audit_env)
    before = counts(first.run_id)
    again = _audit(audit_env)
    assert again.run_id == first.run_id and again.baseline_run_id == first.baseline_run_id
    assert again.n_explained == 0 and again.n_resumed == 5
    assert (again.verdict, again.reasons) == (first.verdict, first.reasons)
    after = counts(first.run_id)
    # every audit that ends fail alerts (one per nightly run, flows.alerts); nothing else is added
    assert after[:4] + after[5:] == before[:4] + before[5:] and before[2] == 1
    assert after[4] == before[4] + 1


def test_identical_weights_pass_against_each_other(audit_env, saved_models):
    # another model name: this test adds versions without changing `cap`'s for the other tests
    first = register_model(saved_models["a"], "cap-same", settings=audit_env["settings"], reuse_existing=False)
    same = register_model(saved_models["a"], "cap-same", settings=audit_env["settings"], reuse_existing=False)
    outcome = _audit(audit_env, model_uri=same.source_uri, baseline_uri=first.source_uri)
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
    run_probe_batch(run.run_id, ["p000", "p003"], probe_dir=str(probes), model_uri=resolved.source_uri,
                    local_dir=str(resolved.local_dir), methods=("tam",), explain_settings={"max_new_tokens": 5},
                    metric_options={}, db_url=settings.storage_url())
    assert repository.completed_probe_keys(run.run_id) == {"p000", "p003"}

    outcome = _audit(audit_env, probe_set=str(probes), compare=False, methods=["tam"],
                     explain_settings={"max_new_tokens": 5})
    assert outcome.run_id == run.run_id
    assert (outcome.n_resumed, outcome.n_explained) == (2, 3)
    assert len(repository.get_generations(run.run_id)) == 5
    assert repository.get_run(run.run_id).status == "completed"


def test_a_batch_failing_validation_stores_none_of_its_probes(audit_env, monkeypatch):
    """The batch is validated whole and stored in one transaction: one bad map keeps all of it out."""
    import dataclasses

    import numpy as np

    import flows.worker as worker
    from flows.identity import audit_config
    from flows.registry import resolve_model
    from flows.tasks import start_run_task

    convert = worker.explanation_to_probe_result

    def one_bad_map(explanation, probe, values, methods):
        result = convert(explanation, probe, values, methods)
        if probe.id != "p001":
            return result
        bad = dataclasses.replace(result.maps[0], map=np.full_like(result.maps[0].map, np.nan))
        return dataclasses.replace(result, maps=[bad, *result.maps[1:]])

    monkeypatch.setattr(worker, "explanation_to_probe_result", one_bad_map)
    settings = audit_env["settings"]
    probes = write_probe_set(audit_env["root"] / "probes-bad-batch", n=3, name="bad-batch")
    resolved = resolve_model("models:/cap@candidate", settings)
    run = start_run_task.fn(resolved, str(probes), audit_config(("tam",), {"max_new_tokens": 4}, {}),
                            settings.storage_url())
    with pytest.raises(ValidationFailedError, match="maps are finite"):
        run_probe_batch(run.run_id, ["p000", "p001", "p002"], probe_dir=str(probes), model_uri=resolved.source_uri,
                        local_dir=str(resolved.local_dir), methods=("tam",), explain_settings={"max_new_tokens": 4},
                        metric_options={}, db_url=settings.storage_url())
    assert repository_for(settings.storage_url()).completed_probe_keys(run.run_id) == set()


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
    from auditors.probes import ProbeSetError

    url = audit_env["settings"].storage_url()
    repository_for(url)  # the database exists and is migrated before the snapshot
    before = database_rows(url)
    broken = write_probe_set(audit_env["root"] / "probes-broken", n=3, name="broken")
    (broken / "images" / "p001.png").write_bytes((broken / "images" / "p001.png").read_bytes()[:60])  # truncated
    with pytest.raises(ProbeSetError, match="probes.jsonl line 2: probe 'p001': image images/p001.png cannot be decoded"):
        _audit(audit_env, probe_set=str(broken))
    assert database_rows(url) == before


def test_unknown_methods_and_settings_are_input_errors(audit_env):
    from flows.errors import FlowsInputError

    with pytest.raises(FlowsInputError, match="unknown method"):
        _audit(audit_env, methods=["tam", "nonsense"])
    with pytest.raises(FlowsInputError, match="unknown explain setting"):
        _audit(audit_env, explain_settings={"max_tokens": 3})


def test_a_report_rendered_later_shows_the_verdict_the_audit_returned(audit_env, tmp_path):
    """Drift reported but not deciding (`drift.affects_verdict = false`): the audit's verdict, the
    report it wrote and `mllm-audit report RUN_ID` rendered afterwards all say the same."""
    from typer.testing import CliRunner

    from flows.cli import app
    from reports import load_report_data

    probes = write_probe_set(audit_env["root"] / "probes-lenient", n=5, name="lenient")
    outcome = _audit(audit_env, probe_set=str(probes), regression={"drift": {"affects_verdict": False}})
    written = json.loads(open(outcome.report_json).read())
    assert written["verdict"] == outcome.verdict and written["headline"] == outcome.reason
    assert written["comparison_settings"]["drift"]["affects_verdict"] is False
    drift = [c for c in written["comparisons"] if c["metric"].startswith("map_drift")]
    assert drift and not any(c["counts"] for c in drift)  # reported, not counted

    repository = repository_for(audit_env["settings"].storage_url())
    later = load_report_data(repository, outcome.run_id)
    assert (later.verdict.verdict, later.verdict.headline) == (outcome.verdict, outcome.reason)
    saved = dict(os.environ)  # the CLI exports its settings to the environment
    try:
        result = CliRunner().invoke(app, ["report", str(outcome.run_id), "--out", str(tmp_path / "again")])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert result.exit_code == 0, result.output
    again = json.loads((tmp_path / "again" / "report.json").read_text())
    assert (again["verdict"], again["headline"], again["reasons"]) == (
        written["verdict"], written["headline"], written["reasons"])
