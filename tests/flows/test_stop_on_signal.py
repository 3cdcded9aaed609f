"""SIGTERM and SIGINT stop a real audit within seconds and leave the database resumable.

Each case starts `mllm-audit audit` on the demo models with a small probe set and a database of
its own, sends the signal at a moment (start-up, mid-batch, after the verdict while alerts and
report are written), and checks the exit code (128 + signal), that the process and its children
ended (within a generous bound: this asserts "it stops", the measured times are in
`benchmarks/results/stop_on_signal.json`), the one-line message, the run's stored status, and that
a rerun completes both runs with every probe stored once. Start-up cases use Prefect's temporary
API (the slow start-up being interrupted); the others share one loopback `prefect server`.
"""

from __future__ import annotations

import signal

import pytest

from storage.repository import AuditRepository
from testkit.stop_scenarios import MOMENTS, SIGNALS, interrupt, prepare, rerun

pytestmark = pytest.mark.slow

N_PROBES = 12
STOPS_WITHIN_S = 15.0  # behavioural bound ("it stops at all"), not a performance goal


@pytest.fixture(scope="module")
def setup(tmp_path_factory, repo_root):
    return prepare(tmp_path_factory.mktemp("stop"), repo_root, n_probes=N_PROBES)


def _runs(db_url: str):
    with AuditRepository(db_url) as repository:
        return [(run, sorted(repository.completed_probe_keys(run.id)),
                 sorted(g.probe_key for g in repository.get_generations(run.id)),
                 len(repository.get_verdicts(run.id))) for run in repository.list_runs()]


@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.parametrize("signal_name", sorted(SIGNALS))
def test_a_signal_stops_the_audit_and_a_rerun_completes_it(setup, loopback_prefect, signal_name, moment):
    api = None if moment == "startup" else loopback_prefect
    case = interrupt(setup, signal_name, moment, prefect_api_url=api)

    assert case.returncode == 128 + SIGNALS[signal_name], case.output[-3000:]
    assert case.stop_s is not None and case.stop_s < STOPS_WITHIN_S, case.output[-3000:]
    assert not case.left_running, "a child process (Prefect's temporary API?) outlived the audit"
    assert f"error: stopped by {signal_name};" in case.output and "Traceback" not in case.output

    runs = _runs(case.db_url)
    if moment == "startup":
        assert all(keys == [] for _, keys, _, _ in runs)  # nothing was explained yet
        return
    candidate = min((r for r, *_ in runs), key=lambda r: r.id)
    if moment == "mid-batch":
        assert candidate.status == "failed" and candidate.error == f"interrupted by {signal_name}"
    else:  # the verdict was stored: both runs had completed; the report is whole or absent
        assert all(r.status == "completed" for r, *_ in runs)
        report = case.db_url.removeprefix("sqlite:///").replace("audit.db", "report/report.html")
        try:
            text = open(report, encoding="utf-8").read()
        except FileNotFoundError:
            text = None
        assert text is None or text.rstrip().endswith("</html>")

    again = rerun(setup, case, prefect_api_url=loopback_prefect)
    assert again.returncode == 1, again.stdout + again.stderr[-3000:]  # the demo's shortcut version regresses
    assert "verdict: FAIL" in again.stdout
    expected = sorted(_probe_keys(setup))
    runs = _runs(case.db_url)
    assert len(runs) == 2  # the candidate's and the champion's, resumed, never duplicated
    for run, keys, generations, _ in runs:
        assert run.status == "completed" and keys == expected and generations == expected
    assert [n for run, _, _, n in runs if run.id == candidate.id] == [1]  # one stored verdict


def _probe_keys(setup) -> list[str]:
    import json

    lines = (setup.probes / "probes.jsonl").read_text().splitlines()
    return [json.loads(line)["id"] for line in lines if line.strip()]


def test_exit_codes_follow_the_shell_convention():
    from flows.stopping import AuditInterrupted

    assert AuditInterrupted(signal.SIGINT).exit_code == 130
    assert AuditInterrupted(signal.SIGTERM).exit_code == 143
