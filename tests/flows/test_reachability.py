"""An unreachable registry fails in seconds, with a line per retry, and the user's MLflow HTTP
settings win (`flows.registry.reachability`); the CLI answers it with exit code 2 before Prefect starts."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from flows.errors import ConfigError, RegistryUnreachableError
from flows.registry.reachability import (
    HTTP_DEFAULTS,
    PROBE_TIMEOUT_S,
    HttpRetryPolicy,
    apply_http_defaults,
    check_reachable,
    forget_reachable,
)
from flows.tasks import _NO_RETRY
from testkit.loopback import free_port


@pytest.fixture(autouse=True)
def _fresh():
    forget_reachable()
    yield
    forget_reachable()


def test_defaults_are_short_and_the_users_settings_win():
    env: dict[str, str] = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "5"}
    apply_http_defaults(env)
    assert env["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "5"  # the user's
    assert env["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"] == HTTP_DEFAULTS["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"]
    assert env["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "20"  # MLflow's own requests: 20 s, not 120 s
    policy = HttpRetryPolicy.from_environment(env)  # the check itself waits 5 s per attempt
    assert (policy.max_retries, policy.backoff_factor, policy.probe_timeout_s) == (5, 1.0, PROBE_TIMEOUT_S)
    apply_http_defaults(env)  # again (another command in the process): still the user's and ours apart
    assert HttpRetryPolicy.from_environment(env) == policy
    own = HttpRetryPolicy.from_environment({"MLFLOW_HTTP_REQUEST_TIMEOUT": "9", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "3"})
    assert (own.probe_timeout_s, own.delay_before_retry(1), own.delay_before_retry(2)) == (9.0, 3.0, 6.0)
    with pytest.raises(ConfigError, match="MLFLOW_HTTP_REQUEST_MAX_RETRIES must be a number"):
        HttpRetryPolicy.from_environment({"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "many"})


def test_a_refused_connection_is_retried_visibly_then_named():
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    lines: list[str] = []
    sleeps: list[float] = []
    with pytest.raises(RegistryUnreachableError, match=re.escape(url) + r" is not reachable \(connection refused; 3 attempts"):
        check_reachable(url, policy=HttpRetryPolicy(2, 1.0, 2.0), notify=lines.append, sleep=sleeps.append)
    assert lines == [f"registry {url} not reachable (connection refused); retry 1 of 2 in 1 s",
                     f"registry {url} not reachable (connection refused); retry 2 of 2 in 2 s"]
    assert sleeps == [1.0, 2.0]
    assert issubclass(RegistryUnreachableError, _NO_RETRY)  # the flow does not retry it a second time


def test_silence_is_bounded_by_the_timeout():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts the handshake (backlog), never answers
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    try:
        with pytest.raises(RegistryUnreachableError, match=r"\(no answer; 1 attempt in"):
            check_reachable(url, policy=HttpRetryPolicy(0, 1.0, 0.5), notify=lambda _: None)
    finally:
        silent.close()


def test_any_http_answer_counts_and_is_asked_once():
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            hits.append(self.path)
            self.send_response(404)  # not MLflow's /health: still a server that answers
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        check_reachable(url, notify=pytest.fail)
        check_reachable(url, notify=pytest.fail)
    finally:
        server.shutdown()
        server.server_close()
    assert hits == ["/health"]
    check_reachable("sqlite:////nowhere/mlflow.db", notify=pytest.fail)  # not HTTP: nothing to ask


def _cli(args, tmp_path, repo_root, **env_extra):
    env = {**os.environ, "MLLM_AUDIT_HOME": str(tmp_path / "home"), "PREFECT_HOME": str(tmp_path / "prefect"),
           "PYTHONPATH": str(repo_root) + os.pathsep + os.environ.get("PYTHONPATH", ""), **env_extra}
    for key in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "MLFLOW_HTTP_REQUEST_TIMEOUT",
                "PREFECT_API_URL", "MLLM_AUDIT_DB_URL"):
        if key not in env_extra:
            env.pop(key, None)
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], env=env, cwd=repo_root, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["register", "audit"])
def test_the_cli_fails_with_exit_2_and_a_line_per_retry(command, saved_models, tmp_path, repo_root):
    from tests.flows.helpers import write_probe_set

    url = f"http://127.0.0.1:{free_port()}"
    args = ([command, str(saved_models["a"]), "--name", "cap"] if command == "register" else
            [command, "models:/cap@candidate", "--probes", str(write_probe_set(tmp_path / "probes", n=1))])
    result = _cli(args, tmp_path, repo_root, MLFLOW_TRACKING_URI=url)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert [line for line in lines if "retry" in line] == [
        f"registry {url} not reachable (connection refused); retry 1 of 2 in 1 s",
        f"registry {url} not reachable (connection refused); retry 2 of 2 in 2 s"]
    assert lines[-1].startswith(f"error: model registry {url} is not reachable (connection refused; 3 attempts")
    assert "Traceback" not in result.stderr and "temporary API" not in result.stderr + result.stdout  # before Prefect
    assert result.stdout == ""

    own = _cli(args, tmp_path, repo_root, MLFLOW_TRACKING_URI=url, MLFLOW_HTTP_REQUEST_MAX_RETRIES="0")
    assert own.returncode == 2 and "retry" not in own.stderr and "(connection refused; 1 attempt in" in own.stderr
