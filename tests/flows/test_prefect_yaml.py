"""prefect.yaml: its deployments point at real flows with valid parameters and schedules; and (slow)
they deploy to a real Prefect server, a process worker runs them, and the runs complete."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from flows.config import load_settings
from flows.registry import register_model
from testkit.loopback import prefect_server, stop_process_group
from tests.flows.helpers import write_probe_set

EXPECTED = {"nightly-audit": "audit-model-version", "registry-watch": "watch-registry", "self-check": "check-environment",
            "compliance-dossier": "compliance-dossier"}


def _deployments(repo_root: Path) -> dict[str, dict]:
    document = yaml.safe_load((repo_root / "prefect.yaml").read_text())
    return {d["name"]: d for d in document["deployments"]}


def _flow_of(entrypoint: str):
    path, name = entrypoint.split(":")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    return getattr(module, name)


def test_deployments_name_real_flows_with_valid_parameters(repo_root):
    from datetime import timedelta

    from prefect import Flow
    from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule

    deployments = _deployments(repo_root)
    assert set(EXPECTED) <= set(deployments)
    pools = set()
    for name, flow_name in EXPECTED.items():
        deployment = deployments[name]
        flow = _flow_of(deployment["entrypoint"])
        assert isinstance(flow, Flow) and flow.name == flow_name
        signature = inspect.signature(flow.fn)
        parameters = deployment.get("parameters") or {}
        assert set(parameters) <= set(signature.parameters), name
        required = {p for p, v in signature.parameters.items() if v.default is inspect.Parameter.empty}
        assert required <= set(parameters), f"{name} misses required parameters {required - set(parameters)}"
        flow.validate_parameters(parameters)  # pydantic validation of the values, as a worker does
        pools.add(deployment["work_pool"]["name"])
    assert len(pools) == 1
    nightly = deployments["nightly-audit"]["schedules"]
    assert len(nightly) == 1 and nightly[0]["active"]
    CronSchedule(cron=nightly[0]["cron"], timezone=nightly[0]["timezone"])  # raises on a bad expression
    watch = deployments["registry-watch"]["schedules"]
    assert len(watch) == 1 and watch[0]["active"]
    assert IntervalSchedule(interval=timedelta(seconds=watch[0]["interval"])).interval.total_seconds() > 0
    assert "schedules" not in deployments["self-check"] or not deployments["self-check"]["schedules"]
    dossier = deployments["compliance-dossier"]["schedules"]
    assert len(dossier) == 1 and dossier[0]["active"]
    assert IntervalSchedule(interval=timedelta(seconds=dossier[0]["interval"])).interval.total_seconds() > 0


# ---- a real server, deploy, worker, triggered runs ---------------------------------------------


def _api(url: str, path: str, body: dict | None = None):
    request = urllib.request.Request(url + path, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"},
                                     method="POST" if body is not None else "GET")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def _prefect(env, repo_root, *args, timeout=300) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "prefect", *args], env=env, cwd=repo_root,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"prefect {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _wait_for_run(api_url: str, flow_run_id: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    run = {}
    while time.monotonic() < deadline:
        run = _api(api_url, f"/flow_runs/{flow_run_id}")
        if run["state"]["type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}:
            return run
        time.sleep(2)
    return run


@pytest.mark.slow
def test_deploy_to_a_real_server_and_run_with_a_process_worker(repo_root, tmp_path, saved_models):
    home = tmp_path / "home"
    probes = write_probe_set(tmp_path / "probes", n=2, name="deployed")
    previous = os.environ.get("MLLM_AUDIT_HOME")
    os.environ["MLLM_AUDIT_HOME"] = str(home)
    try:
        register_model(saved_models["a"], "deployed-cap", settings=load_settings())
    finally:
        os.environ["MLLM_AUDIT_HOME"] = previous or ""

    with prefect_server(tmp_path / "server") as server:
        api_url = server.url
        env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_API_URL": api_url,
               "MLLM_AUDIT_HOME": str(home), "PYTHONPATH": str(repo_root) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_CLI_COLORS": "false"}
        for key in ("MLLM_AUDIT_DB_URL", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
            env.pop(key, None)
        _prefect(env, repo_root, "work-pool", "create", "mllm-audit", "--type", "process")
        _prefect(env, repo_root, "deploy", "--all", "--no-prompt")
        deployments = {d["name"]: d for d in _api(api_url, "/deployments/filter", {})}
        assert set(EXPECTED) <= set(deployments)
        assert deployments["nightly-audit"]["schedules"][0]["schedule"]["cron"] == "0 2 * * *"

        worker = subprocess.Popen([sys.executable, "-m", "prefect", "worker", "start", "--pool", "mllm-audit"],
                                  env=env, cwd=repo_root, start_new_session=True,
                                  stdout=open(tmp_path / "worker.log", "wb"), stderr=subprocess.STDOUT)
        try:
            runs = {
                "self-check": {"probe_set": str(probes)},
                "nightly-audit": {"model_uri": "models:/deployed-cap/1", "probe_set": str(probes), "methods": ["tam"],
                                  "compare": False, "explain_settings": {"max_new_tokens": 4}},
                "compliance-dossier": {"model_name": "deployed-cap"},
            }
            finished_ids = {}
            for name, parameters in runs.items():
                flow_run = _api(api_url, f"/deployments/{deployments[name]['id']}/create_flow_run",
                                {"parameters": parameters})
                finished = _wait_for_run(api_url, flow_run["id"], timeout=420)
                assert finished["state"]["type"] == "COMPLETED", (
                    f"{name}: {finished['state']}\n" + (tmp_path / "worker.log").read_text()[-4000:])
                finished_ids[name] = flow_run["id"]
            assert (home / "audit.db").is_file()  # the deployed audit wrote where the worker's env said
            assert (home / "compliance" / "deployed-cap" / "dossier.pdf").is_file()  # the scheduled dossier too
            # the deployment runs without a terminal bar (show_progress: false); its UI progress still ends full
            (progress,) = _api(api_url, "/artifacts/filter", {"artifacts": {
                "flow_run_id": {"any_": [finished_ids["nightly-audit"]]}, "type": {"any_": ["progress"]}}})
            assert progress["data"] == 100.0 and progress["description"].startswith("2/2 probes")
        finally:
            stop_process_group(worker)
