"""A real audit process is SIGKILLed mid-run; rerunning it continues and duplicates nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from flows.config import load_settings
from flows.registry import register_model
from storage.repository import AuditRepository
from tests.flows.helpers import write_probe_set

N_PROBES = 24


def _cli(env, *args):
    return [sys.executable, "-m", "flows.cli", *args]


@pytest.mark.slow
def test_killed_audit_resumes_without_duplicates(saved_models, tmp_path, repo_root):
    home = tmp_path / "home"
    env = {**os.environ, "MLLM_AUDIT_HOME": str(home), "PREFECT_HOME": str(tmp_path / "prefect"),
           "PYTHONPATH": str(repo_root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("MLLM_AUDIT_DB_URL", None)
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("PREFECT_API_URL", None)
    probes = write_probe_set(tmp_path / "probes", n=N_PROBES, name="kill")
    old_home = os.environ.get("MLLM_AUDIT_HOME")
    os.environ["MLLM_AUDIT_HOME"] = str(home)
    try:
        register_model(saved_models["a"], "killme", settings=load_settings())
    finally:
        if old_home is not None:
            os.environ["MLLM_AUDIT_HOME"] = old_home
    command = _cli(env, "audit", "models:/killme/1", "--probes", str(probes), "--no-compare",
                   "--batch-size", "1", "--methods", "tam")
    url = f"sqlite:///{home / 'audit.db'}"

    process = subprocess.Popen(command, env=env, cwd=repo_root, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    stored_before_kill = 0
    run_id = None
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.3)
            if not (home / "audit.db").is_file():
                continue
            try:
                with AuditRepository(url) as repository:
                    runs = repository.list_runs()
                    if runs:
                        run_id = runs[0].id
                        stored_before_kill = len(repository.completed_probe_keys(run_id))
            except Exception:  # the database may be mid-migration at the very start
                continue
            if stored_before_kill >= 2:
                os.killpg(process.pid, signal.SIGKILL)
                break
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        output = process.communicate(timeout=30)[0].decode(errors="replace")
    assert process.returncode == -signal.SIGKILL, output
    assert run_id is not None and 2 <= stored_before_kill < N_PROBES, output

    with AuditRepository(url) as repository:
        assert repository.get_run(run_id).status == "running"  # killed: nobody finished it
        stored_after_kill = len(repository.completed_probe_keys(run_id))

    rerun = subprocess.run(command, env=env, cwd=repo_root, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"{N_PROBES - stored_after_kill} explained now, {stored_after_kill} already stored" in rerun.stdout
    with AuditRepository(url) as repository:
        runs = repository.list_runs()
        assert [r.id for r in runs] == [run_id]
        assert repository.get_run(run_id).status == "completed"
        assert len(repository.completed_probe_keys(run_id)) == N_PROBES
        generations = repository.get_generations(run_id)
        assert sorted(g.probe_key for g in generations) == sorted(f"p{i:03d}" for i in range(N_PROBES))
