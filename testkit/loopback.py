"""Start and stop real `mlflow server` and `prefect server` processes on 127.0.0.1 for the tests and
the benchmarks.

Why one helper: every test and benchmark that needs a real server must bind loopback only, wait
a bounded time for it to answer, and stop everything it started, the server's own children
included. Each server runs in its own process group (`start_new_session`), so stopping is one
`killpg` (SIGTERM, then SIGKILL after a grace period), and MLflow runs with
`MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false` (otherwise it spawns job-runner processes that outlive
it). A server that does not answer within `start_timeout_s` raises `ServerStartError` with its
log's tail (failing the test or the benchmark).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

LOOPBACK = "127.0.0.1"
START_TIMEOUT_S = 180.0  # a loaded 2-core machine: MLflow took 11-44 s, Prefect 16 s and more
STOP_GRACE_S = 15.0


class ServerStartError(RuntimeError):
    """The server exited or did not answer in time; the message carries its log's tail."""


@dataclass(frozen=True)
class LoopbackServer:
    """A running server: where it answers and where its log is."""

    url: str  # base URL, e.g. http://127.0.0.1:5123
    log: Path
    process: subprocess.Popen

    def log_tail(self, n_chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n_chars:]
        except OSError:
            return ""


def free_port() -> int:
    """A TCP port nothing listens on right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 300
    except (OSError, urllib.error.URLError):
        return False


def stop_process_group(process: subprocess.Popen, grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM the process's group, wait `grace_s`, then SIGKILL it; reaps the process."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):  # children that ignored SIGTERM
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(grace_s)


@contextlib.contextmanager
def loopback_server(command: list[str], health_url: str, base_url: str, log: Path, env: dict[str, str],
                    start_timeout_s: float = START_TIMEOUT_S) -> Iterator[LoopbackServer]:
    """Run `command` in its own process group until `health_url` answers 2xx; stop it afterwards."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True, stdin=subprocess.DEVNULL)
    server = LoopbackServer(base_url, log, process)
    try:
        deadline = time.monotonic() + start_timeout_s
        while not _answers(health_url):
            if process.poll() is not None:
                raise ServerStartError(f"{command[2]} exited with {process.returncode}:\n{server.log_tail()}")
            if time.monotonic() > deadline:
                raise ServerStartError(f"{command[2]} did not answer {health_url} within {start_timeout_s:.0f} s:\n"
                                       f"{server.log_tail()}")
            time.sleep(0.5)
        yield server
    finally:
        stop_process_group(process)


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "MLFLOW_TRACKING_URI")}
    env.update(extra)
    return env


@contextlib.contextmanager
def mlflow_server(root: Path, *, artifacts_destination: str | None = None, allowed_hosts: str | None = None,
                  start_timeout_s: float = START_TIMEOUT_S) -> Iterator[LoopbackServer]:
    """`mlflow server` on 127.0.0.1 with a SQLite backend under `root`; artifacts proxied by the
    server into `artifacts_destination` (default: a folder under `root`), as the README recommends.
    `allowed_hosts` is passed as `--allowed-hosts` ("{port}" in it becomes the chosen port); it
    replaces MLflow's default list (localhost and private addresses)."""
    port = free_port()
    root.mkdir(parents=True, exist_ok=True)
    destination = artifacts_destination or (root / "artifacts").resolve().as_uri()
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
               "--artifacts-destination", destination, "--host", LOOPBACK, "--port", str(port), "--workers", "1"]
    if allowed_hosts:
        command += ["--allowed-hosts", allowed_hosts.format(port=port)]
    env = _clean_env(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    base = f"http://{LOOPBACK}:{port}"
    with loopback_server(command, f"{base}/health", base, root / "mlflow-server.log", env, start_timeout_s) as server:
        yield server


@contextlib.contextmanager
def prefect_server(root: Path, *, start_timeout_s: float = START_TIMEOUT_S) -> Iterator[LoopbackServer]:
    """`prefect server start` on 127.0.0.1 with its own PREFECT_HOME under `root` (no UI, no
    telemetry). `server.url` is the API URL clients need as PREFECT_API_URL."""
    port = free_port()
    root.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", LOOPBACK, "--port", str(port)]
    env = _clean_env(PREFECT_HOME=str(root / "prefect-home"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
                     PREFECT_UI_ENABLED="false")
    api = f"http://{LOOPBACK}:{port}/api"
    with loopback_server(command, f"{api}/health", api, root / "prefect-server.log", env, start_timeout_s) as server:
        yield server
