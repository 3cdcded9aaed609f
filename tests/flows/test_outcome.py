"""`flows.outcome.AuditOutcome`: where a run's probes came from, as the CLI and the UI say it."""

from __future__ import annotations

from dataclasses import replace

from flows.outcome import AuditOutcome
from flows.registry import ResolvedModel

OUTCOME = AuditOutcome(
    run_id=1, model=ResolvedModel("cap", "2", None, "models:/cap/2", "sha", "Qwen2VLForConditionalGeneration"),
    probe_set_name="scenes", probe_set_version="1", probe_set_hash="h", methods=("tam",), verdict="pass",
    reason="r", n_probes=200, n_explained=150, n_resumed=50)


def test_explained_and_resumed_probes_account_for_the_run():
    assert OUTCOME.n_stored_by_others == 0
    assert OUTCOME.progress_line() == "200 probes, 150 explained now, 50 already stored"


def test_probes_another_audit_of_the_same_run_stored_meanwhile_are_named():
    # two schedulers started the same audit: this one explained 40, found 10, the other stored 150
    racing = replace(OUTCOME, n_explained=40, n_resumed=10)
    assert racing.n_stored_by_others == 150
    assert racing.progress_line() == ("200 probes, 40 explained now, 10 already stored, "
                                      "150 stored meanwhile by another audit of the same run")
    assert "150 stored meanwhile by another audit of the same run" in racing.markdown()
