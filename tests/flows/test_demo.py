"""`mllm-audit demo` with the shipped demo models: FAILS as the README says, reports, and reruns
without duplicating anything."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import DEMO_MODEL_NAME, app

runner = CliRunner()


@pytest.mark.slow
def test_demo_runs_and_reruns_without_duplicates(home, prefect_harness, restore_environment):
    from flows.config import load_settings
    from flows.registry import list_versions, resolve_model
    from storage.repository import AuditRepository

    first = runner.invoke(app, ["demo", "--n-probes", "8"])
    assert first.exit_code == 0, first.output  # the demo exits 0 whatever the verdict
    report = re.search(r"^report: (.+)$", first.output, re.M).group(1)
    assert os.path.isfile(report)
    assert re.search(r"^verdict: FAIL - .+", first.output, re.M), first.output
    # the checks the README names as the reason: on 8 probes already, both methods' maps have moved
    # away from the clean version's and both point at the named object less often
    summary = json.loads(Path(report).with_suffix(".json").read_text())
    failing = {(c["method"], c["metric"]) for c in summary["comparisons"] if c["verdict"] == "fail"}
    assert failing >= {(m, k) for m in ("tam", "msea_arc") for k in ("map_drift_spearman", "pointing_game")}, failing
    assert summary["verdict"] == "fail" and summary["warnings"] == []

    settings = load_settings()
    assert resolve_model(f"models:/{DEMO_MODEL_NAME}@champion", settings, download=False).version == "1"
    assert resolve_model(f"models:/{DEMO_MODEL_NAME}@candidate", settings, download=False).version == "2"
    with AuditRepository(settings.storage_url()) as repository:
        runs = repository.list_runs()
        rows = {r.id: len(repository.get_generations(r.id)) for r in runs}
        verdicts = sum(len(repository.get_verdicts(r.id)) for r in runs)
    assert len(runs) == 2 and set(rows.values()) == {8} and verdicts == 1

    second = runner.invoke(app, ["demo", "--n-probes", "8"])
    assert second.exit_code == 0, second.output
    assert "0 explained now, 8 already stored" in second.output
    assert [v.version for v in list_versions(DEMO_MODEL_NAME, settings)] == ["1", "2"]
    with AuditRepository(settings.storage_url()) as repository:
        runs_again = repository.list_runs()
        assert {r.id: len(repository.get_generations(r.id)) for r in runs_again} == rows
        assert sum(len(repository.get_verdicts(r.id)) for r in runs_again) == verdicts
