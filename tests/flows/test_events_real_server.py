"""The delivery rule of `mllm-audit.verdict.*` events (`flows.alerts`), against a real `prefect server`.

Three audits of the same failing version: the first without PREFECT_API_URL (Prefect's temporary
API: the event is not sent, and recorded as not sent), then two with the server (each emits, as a
nightly schedule would). The server holds exactly two events for the version, from two flow runs;
the stored alerts and the report's Alerts section say where each went.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest

from flows.config import load_settings
from flows.registry import register_model
from storage.repository import AuditRepository
from tests.flows.helpers import judge_strictly, write_probe_set

pytestmark = pytest.mark.slow

MODEL = "events-cap"
RESOURCE = f"mllm-audit.model.{MODEL}.2"


def read_events(api_url: str, prefix: str = "mllm-audit.") -> list[dict]:
    """Events whose name starts with `prefix`, as the README shows (POST /events/filter)."""
    body = json.dumps({"filter": {"event": {"prefix": [prefix]}}, "limit": 50}).encode()
    request = urllib.request.Request(f"{api_url}/events/filter", data=body,
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["events"]


def _register(saved_models, home) -> None:
    saved = os.environ.get("MLLM_AUDIT_HOME")
    os.environ["MLLM_AUDIT_HOME"] = str(home)
    try:
        settings = load_settings()
        register_model(saved_models["a"], MODEL, alias="champion", settings=settings)
        register_model(saved_models["b"], MODEL, alias="candidate", settings=settings)
    finally:
        if saved is None:
            os.environ.pop("MLLM_AUDIT_HOME", None)
        else:
            os.environ["MLLM_AUDIT_HOME"] = saved


def _audit(home, probes, tmp_path, repo_root, api_url):
    env = {**os.environ, "MLLM_AUDIT_HOME": str(home), "PREFECT_HOME": str(tmp_path / "prefect-home"),
           "PYTHONPATH": str(repo_root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    for key in ("MLLM_AUDIT_DB_URL", "MLFLOW_TRACKING_URI", "PREFECT_API_URL"):
        env.pop(key, None)
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return subprocess.run([sys.executable, "-m", "flows.cli", "audit", f"models:/{MODEL}@candidate", "--probes",
                           str(probes), "--methods", "tam", "--out", str(tmp_path / "report")],
                          env=env, cwd=repo_root, capture_output=True, text=True, timeout=900)


def _events_for_version(api_url: str, expected: int, wait_s: float = 60.0) -> list[dict]:
    """The version's events, once `expected` arrived (events are written asynchronously)."""
    deadline = time.monotonic() + wait_s
    while True:
        events = [e for e in read_events(api_url) if e["resource"]["prefect.resource.id"] == RESOURCE]
        if len(events) >= expected or time.monotonic() > deadline:
            return events
        time.sleep(1)


def test_each_failing_audit_with_a_server_emits_once_and_the_temporary_api_gets_none(
        saved_models, tmp_path, repo_root, loopback_prefect):
    home = tmp_path / "home"
    _register(saved_models, home)
    judge_strictly(home)  # random test models must FAIL, as a regressed version does
    probes = write_probe_set(tmp_path / "probes", n=3, name="events")

    for api_url in (None, loopback_prefect, loopback_prefect):
        result = _audit(home, probes, tmp_path, repo_root, api_url)
        assert result.returncode == 1, result.stdout + result.stderr[-3000:]  # two random models: FAIL

    events = _events_for_version(loopback_prefect, expected=2)
    assert [e["event"] for e in events] == ["mllm-audit.verdict.fail"] * 2
    flow_runs = {r["prefect.resource.id"] for e in events for r in e["related"]
                 if r.get("prefect.resource.role") == "flow-run"}
    assert len(flow_runs) == 2  # one event per audit, each tied to its own flow run
    time.sleep(3)
    assert len(_events_for_version(loopback_prefect, expected=3, wait_s=0)) == 2  # and no more

    with AuditRepository(f"sqlite:///{home / 'audit.db'}") as repository:
        (run,) = [r for r in repository.list_runs() if repository.get_model_version(r.model_version_id).version == "2"]
        alerts = repository.get_alerts(run.id)
    deliveries = [next(d for d in a.payload["deliveries"] if d["channel"] == "prefect-event") for a in alerts]
    assert [(d["ok"], d["attempts"], d["destination"]) for d in deliveries] == [
        (False, 0, None), (True, 1, loopback_prefect), (True, 1, loopback_prefect)]
    assert deliveries[0]["error"].startswith("not sent: no PREFECT_API_URL")
    assert [a.channels for a in alerts] == [("mlflow-tag",), ("mlflow-tag", "prefect-event"),
                                            ("mlflow-tag", "prefect-event")]
    report = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert f"prefect-event: ok ({loopback_prefect})" in report and "prefect-event: not sent: no PREFECT_API_URL" in report
