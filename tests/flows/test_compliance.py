"""Compliance from the command line, on a real audit: the audit leaves a current dossier behind,
`signoff` enforces the approval rule (exit 2, one line) and tags the version, `compliance` writes
the three files, `compliance verify` exits 0 on an intact chain and 1 naming an edited row.

Two tiny random models disagree everywhere, so the audit of `cap` v2 against v1 always fails.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from flows.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_REGRESSION, app
from flows.compliance import dossier_dir
from flows.errors import FlowsInputError
from flows.signoff import check_decision
from flows.worker import repository_for
from storage.records import AuditRunRecord, VerdictRecord

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("restored_environment")


def _run(verdict: str | None) -> tuple[AuditRunRecord, VerdictRecord | None]:
    run = AuditRunRecord(7, 1, 1, "h", {}, "completed")
    return run, (None if verdict is None else VerdictRecord(7, 6, verdict, "The maps moved.", (), {}))  # type: ignore[arg-type]


@pytest.mark.parametrize("decision, note, override, verdict, message", [
    ("approved", "", False, "fail", "FAILED: The maps moved. Approving it needs --override and a --note"),
    ("approved", "  ", True, "fail", "--override needs a --note"),
    ("rejected", "no", True, "fail", "--override applies only to --decision approved"),
    ("approved", "why", True, "pass", "latest audit has verdict PASS, so approve it without --override"),
    ("approved", "why", True, None, "has no verdict"),
    ("maybe", "", False, None, "--decision must be approved or rejected"),
])
def test_the_approval_rule_refuses_with_one_line(decision, note, override, verdict, message):
    run, stored = _run(verdict)
    with pytest.raises(FlowsInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_decision("models:/cap/2", decision, note, override, run, stored)


@pytest.mark.parametrize("decision, note, override, verdict", [
    ("approved", "", False, "pass"), ("approved", "", False, None), ("rejected", "", False, "fail"),
    ("approved", "accepted: demo", True, "fail")])
def test_the_approval_rule_accepts(decision, note, override, verdict):
    check_decision("models:/cap/2", decision, note, override, *_run(verdict))


@pytest.fixture(scope="module")
def audited(audit_env):
    """`cap` v2 audited against v1 (FAIL) by the flow, which also writes the dossier."""
    from flows.audit import run_audit
    from flows.request import AuditRequest

    outcome = run_audit(AuditRequest.from_parameters(model_uri="models:/cap@candidate",
                                                     probe_set=str(audit_env["probes"]), methods=["tam"],
                                                     show_progress=False))
    assert outcome.verdict == "fail"
    return {**audit_env, "outcome": outcome}


@pytest.fixture()
def cli_home(audited, monkeypatch):
    monkeypatch.setenv("MLLM_AUDIT_HOME", str(audited["settings"].home))
    return audited


@pytest.mark.slow
def test_the_audit_records_its_report_and_leaves_a_current_dossier(audited):
    settings, outcome = audited["settings"], audited["outcome"]
    repository = repository_for(settings.storage_url())
    assert repository.get_run(outcome.run_id).report_path == outcome.report_html
    folder = dossier_dir(settings, "cap")
    document = json.loads((folder / "dossier.json").read_text())
    assert [a["run_id"] for a in document["audits"] if a["version"] == "2"][-1] == outcome.run_id
    assert document["ledger"]["intact"] and (folder / "dossier.pdf").read_bytes().startswith(b"%PDF")
    versions = {v["version"]: v for v in document["model"]["versions"]}
    assert versions["2"]["registered_at"] and versions["2"]["aliases"] == ["candidate"]


@pytest.mark.slow
def test_signoff_enforces_the_rule_records_the_override_and_tags_the_version(cli_home):
    result = runner.invoke(app, ["signoff", "models:/cap/2", "--reviewer", "Ada", "--decision", "approved"])
    assert result.exit_code == EXIT_BAD_INPUT
    assert "FAILED" in result.output and "--override" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["signoff", "models:/cap/2", "--reviewer", "Ada", "--decision", "approved",
                                 "--override"])
    assert result.exit_code == EXIT_BAD_INPUT and "needs a --note" in result.output
    result = runner.invoke(app, ["signoff", "models:/cap/2", "--reviewer", "Ada", "--decision", "approved",
                                 "--override", "--note", "random test weights; accepted"])
    assert result.exit_code == EXIT_OK, result.output
    assert "approved with override by Ada" in result.output
    settings = cli_home["settings"]
    repository = repository_for(settings.storage_url())
    (stored,) = [s for s in repository.list_signoffs("cap") if s.override]
    assert (stored.audit_run_id, stored.audit_verdict) == (cli_home["outcome"].run_id, "fail")
    from mlflow import MlflowClient

    tags = MlflowClient(settings.effective_tracking_uri, settings.effective_registry_uri).get_model_version("cap", "2").tags
    assert tags["mllm_audit.signoff"] == "approved (override)" and tags["mllm_audit.signoff_reviewer"] == "Ada"
    assert tags["mllm_audit.ledger_head"] == repository.ledger_entries("cap")[-1].entry_hash


@pytest.mark.slow
def test_compliance_writes_the_dossier_and_verify_names_an_edited_row(cli_home, tmp_path):
    runner.invoke(app, ["signoff", "models:/cap/1", "--reviewer", "Grace", "--decision", "approved"])
    result = runner.invoke(app, ["compliance", "models:/cap", "--out", str(tmp_path / "dossier")])
    assert result.exit_code == EXIT_OK, result.output
    assert "verifies" in result.output
    document = json.loads((tmp_path / "dossier" / "dossier.json").read_text())
    assert any(s["reviewer"] == "Grace" and s["version"] == "1" for s in document["signoffs"])
    assert (tmp_path / "dossier" / "dossier.html").read_text().startswith("<!DOCTYPE html>")
    assert "note:" not in result.output
    versioned = runner.invoke(app, ["compliance", "models:/cap/1", "--out", str(tmp_path / "again")])
    assert versioned.exit_code == EXIT_OK and "a dossier covers every version of cap" in versioned.output

    result = runner.invoke(app, ["compliance", "verify", "models:/cap"])
    assert result.exit_code == EXIT_OK and "verifies" in result.output
    repository = repository_for(cli_home["settings"].storage_url())
    edited = cli_home["outcome"].run_id
    with repository.engine.begin() as conn:
        original = conn.execute(text("SELECT id, text FROM generations WHERE run_id = :r"), {"r": edited}).all()
        conn.execute(text("UPDATE generations SET text = 'edited' WHERE run_id = :r"), {"r": edited})
    try:
        result = runner.invoke(app, ["compliance", "verify", "models:/cap"])
        assert result.exit_code == EXIT_REGRESSION
        assert f"(run {edited}): the run row {edited} was changed after it was chained: its generated answers" \
            in result.output
    finally:  # the module's other tests share this database: put the rows back
        with repository.engine.begin() as conn:
            for row_id, answer in original:
                conn.execute(text("UPDATE generations SET text = :t WHERE id = :i"), {"t": answer, "i": row_id})
    assert runner.invoke(app, ["compliance", "verify", "models:/cap"]).exit_code == EXIT_OK
    result = runner.invoke(app, ["compliance", "verify", "models:/nobody"])
    assert result.exit_code == EXIT_BAD_INPUT and "nothing of model 'nobody' is stored" in result.output
