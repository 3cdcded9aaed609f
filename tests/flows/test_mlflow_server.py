"""Against a real `mlflow server` on loopback: the README's recipe (artifacts proxied by the server,
`--allowed-hosts`), and stdout that holds only mllm-audit's documented result lines."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import urllib.parse

import pytest

from testkit.loopback import mlflow_server
from tests.flows.helpers import judge_strictly, write_probe_set

pytestmark = pytest.mark.slow

# every line `register` and `audit` may print on stdout (README, "Output")
REGISTER_LINES = (r"models:/[\w.-]+/\d+( \(aliases: [\w, -]+\))?",
                  r"architecture \w+, weights sha256 [0-9a-f]{64}, registry \S+")
AUDIT_LINES = (r"audit run \d+: models:/\S+ on probe set \S+ \(\d+ probes, \d+ explained now, \d+ already stored\) in "
               r"[\d.]+ s", r"baseline: models:/\S+ \(audit run \d+\)", r"report: \S+\.html",
               r"verdict: (PASS|WARN|FAIL|NONE) - .+", r"  - .+")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # the README's recipe: artifacts proxied by the server, and the name clients use allowed
    with mlflow_server(tmp_path_factory.mktemp("mlflow-server"),
                       allowed_hosts="mlflow.internal:5000,127.0.0.1:{port}") as running:
        yield running


def _cli(args, home, tracking_uri, repo_root, tmp_path):
    env = {**os.environ, "MLLM_AUDIT_HOME": str(home), "MLFLOW_TRACKING_URI": tracking_uri,
           "PREFECT_HOME": str(tmp_path / "prefect-home"),
           "PYTHONPATH": str(repo_root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    for key in ("MLLM_AUDIT_DB_URL", "MLFLOW_REGISTRY_URI", "PREFECT_API_URL"):
        env.pop(key, None)
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], env=env, cwd=repo_root, capture_output=True,
                          text=True, timeout=900)


def _only_documented(stdout: str, patterns: tuple[str, ...]) -> list[str]:
    """The stdout lines no documented pattern matches (an empty list when stdout is clean)."""
    return [line for line in stdout.splitlines() if not any(re.fullmatch(p, line) for p in patterns)]


def test_register_and_audit_through_the_server_print_only_their_result_lines(server, saved_models, tmp_path,
                                                                            repo_root):
    home = tmp_path / "home"
    judge_strictly(home)  # random test models must FAIL, as a regressed version does
    first = _cli(["register", str(saved_models["a"]), "--name", "srv", "--alias", "champion"], home, server.url,
                 repo_root, tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[0] == "models:/srv/1 (aliases: champion)"
    assert len(first.stdout.splitlines()) == 2 and _only_documented(first.stdout, REGISTER_LINES) == []
    assert "View run" not in first.stdout + first.stderr
    second = _cli(["register", str(saved_models["b"]), "--name", "srv", "--alias", "candidate"], home, server.url,
                  repo_root, tmp_path)
    assert second.returncode == 0 and _only_documented(second.stdout, REGISTER_LINES) == [], second.stdout

    probes = write_probe_set(tmp_path / "probes", n=3)
    audit = _cli(["audit", "models:/srv@candidate", "--probes", str(probes), "--methods", "tam"], home, server.url,
                 repo_root, tmp_path)
    assert audit.returncode == 1, audit.stdout + audit.stderr[-3000:]  # two random models: the drift check fails
    assert _only_documented(audit.stdout, AUDIT_LINES) == [], audit.stdout
    assert "verdict: FAIL" in audit.stdout
    # both versions came down through the server's proxied artifact store into the model cache
    assert (home / "models" / "srv" / "2" / ".complete").is_file()
    assert (home / "models" / "srv" / "1" / ".complete").is_file()


def _status_for_host(url: str, host: str) -> int:
    parsed = urllib.parse.urlparse(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        connection.request("GET", "/api/2.0/mlflow/experiments/search?max_results=1", headers={"Host": host})
        return connection.getresponse().status
    finally:
        connection.close()


def test_the_server_answers_the_names_in_allowed_hosts_only(server):
    assert _status_for_host(server.url, "mlflow.internal:5000") == 200
    assert _status_for_host(server.url, "other.internal:5000") == 403  # MLflow 3.17's DNS-rebinding guard
