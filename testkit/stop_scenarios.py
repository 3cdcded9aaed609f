"""Stop a real `mllm-audit audit` process with SIGTERM or SIGINT at a chosen moment, then rerun it.

Shared by the behavioural test (`tests/flows/test_stop_on_signal.py`: exit code, that it stops at
all, that the rerun completes without duplicates) and the benchmark that records the stop times
(`benchmarks/stop_on_signal.py`). The audit is the demo's: the shortcut version (@candidate) against
the clean one (@champion), on a small default probe set, each case with a database of its own.

Moments: `startup` (3 s after the process announced Prefect's temporary API: its start-up),
`mid-batch` (the candidate's run has stored at least two probes), `report` (the verdict is stored:
alerts and report follow).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

MOMENTS = ("startup", "mid-batch", "report")
SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM}
WAIT_FOR_MOMENT_S = 600.0
STOP_LIMIT_S = 60.0  # how long the driver waits for the process to exit after the signal
STARTUP_DELAY_S = 3.0  # the start-up signal: this long after the temporary API was announced


@dataclass(frozen=True)
class StopSetup:
    """A data directory with the demo models registered, and a small probe set."""

    root: Path
    home: Path
    probes: Path
    n_probes: int
    repo_root: Path


@dataclass(frozen=True)
class StopCase:
    """One interrupted audit: what it was sent, when, how it ended, where its database is."""

    signal_name: str
    moment: str
    returncode: int | None
    stop_s: float | None  # seconds from the signal to the process's exit
    message_s: float | None  # seconds from the signal to the "stopped by ..." line
    moment_reached_s: float  # seconds from the start to the moment the signal was sent
    db_url: str
    output: str
    report_existed_at_signal: bool = False
    left_running: bool = False  # a process of its group (Prefect's temporary API...) outlived it


def prepare(root: Path, repo_root: Path, n_probes: int = 24) -> StopSetup:
    """Register the demo models (clean @champion, shortcut @candidate) and build the probe set."""
    from auditors.demo import build_default_probe_set, demo_model_dir

    from flows.config import load_settings
    from flows.registry import register_model

    home = root / "home"
    saved = os.environ.get("MLLM_AUDIT_HOME")
    os.environ["MLLM_AUDIT_HOME"] = str(home)
    try:
        settings = load_settings(home=str(home))
        register_model(demo_model_dir("clean"), "demo-captioner", alias="champion", settings=settings)
        register_model(demo_model_dir("shortcut"), "demo-captioner", alias="candidate", settings=settings)
    finally:
        if saved is None:
            os.environ.pop("MLLM_AUDIT_HOME", None)
        else:
            os.environ["MLLM_AUDIT_HOME"] = saved
    probes = build_default_probe_set(root / "probes", n=n_probes, overwrite=True)
    return StopSetup(root, home, probes, n_probes, repo_root)


def _environment(setup: StopSetup, prefect_api_url: str | None) -> dict[str, str]:
    env = {**os.environ, "MLLM_AUDIT_HOME": str(setup.home), "PREFECT_HOME": str(setup.root / "prefect-home"),
           "PYTHONPATH": str(setup.repo_root) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "PYTHONUNBUFFERED": "1"}
    for key in ("MLLM_AUDIT_DB_URL", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "PREFECT_API_URL"):
        env.pop(key, None)
    if prefect_api_url:
        env["PREFECT_API_URL"] = prefect_api_url
    return env


def audit_command(setup: StopSetup, db_url: str, out: Path) -> list[str]:
    return [sys.executable, "-m", "flows.cli", "audit", "models:/demo-captioner@candidate", "--probes",
            str(setup.probes), "--db", db_url, "--out", str(out), "--batch-size", "2"]


def _stored(db_url: str) -> tuple[int, bool]:
    """(probes stored by the candidate's run, whether a verdict is stored); (0, False) while the
    database does not exist yet or is being created."""
    from storage.repository import AuditRepository

    path = Path(db_url.removeprefix("sqlite:///"))
    if not path.is_file():
        return 0, False
    try:
        with AuditRepository(db_url) as repository:
            runs = repository.list_runs()
            if not runs:
                return 0, False
            first = min(runs, key=lambda r: r.id)  # the candidate's run is started first
            return len(repository.completed_probe_keys(first.id)), bool(repository.get_verdicts(first.id))
    except Exception:  # noqa: BLE001 - mid-migration at the very start
        return 0, False


class _Output:
    """Collects the process's combined output on a thread (so a full pipe never blocks it)."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self.stamps: list[float] = []  # time.monotonic() each line arrived
        self.thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self.thread.start()

    def _read(self, process: subprocess.Popen) -> None:
        for raw in process.stdout:  # type: ignore[union-attr]
            self.stamps.append(time.monotonic())
            self.lines.append(raw.decode(errors="replace"))

    def first(self, text: str) -> float | None:
        """When the first line holding `text` arrived."""
        return next((t for t, line in zip(self.stamps, self.lines) if text in line), None)

    def text(self) -> str:
        return "".join(self.lines)


def _moment_reached(moment: str, output: _Output, db_url: str) -> bool:
    if moment == "startup":  # inside the temporary API's start-up (10-30 s), which began at that line
        announced = output.first("starting Prefect's temporary API")
        return announced is not None and time.monotonic() - announced >= STARTUP_DELAY_S
    stored, judged = _stored(db_url)
    return stored >= 2 if moment == "mid-batch" else judged


def interrupt(setup: StopSetup, signal_name: str, moment: str, prefect_api_url: str | None = None) -> StopCase:
    """Start the audit on a fresh database, send the signal at `moment`, wait for the exit."""
    case_dir = setup.root / f"{signal_name}-{moment}-{'server' if prefect_api_url else 'temporary-api'}"
    if case_dir.exists():
        raise FileExistsError(f"{case_dir} is left from an earlier case: each case needs a fresh database")
    case_dir.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{case_dir / 'audit.db'}"
    out = case_dir / "report"
    started = time.monotonic()
    process = subprocess.Popen(audit_command(setup, db_url, out), env=_environment(setup, prefect_api_url),
                               cwd=setup.repo_root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    output = _Output(process)
    try:
        while not _moment_reached(moment, output, db_url):
            if process.poll() is not None or time.monotonic() - started > WAIT_FOR_MOMENT_S:
                raise RuntimeError(f"{moment} never came (exit {process.poll()}):\n{output.text()[-3000:]}")
            time.sleep(0.05)
        reached = time.monotonic() - started
        report_existed = (out / "report.html").exists()
        sent = time.monotonic()
        os.kill(process.pid, SIGNALS[signal_name])  # the process alone, as `timeout` or a worker does
        try:
            process.wait(STOP_LIMIT_S)
            stop_s: float | None = time.monotonic() - sent
        except subprocess.TimeoutExpired:
            stop_s = None
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)
        output.thread.join(10)
        left_running = _group_alive(process.pid)
        if left_running:
            os.killpg(process.pid, signal.SIGKILL)
    said = output.first("stopped by")
    return StopCase(signal_name, moment, process.returncode, stop_s, None if said is None else said - sent, reached,
                    db_url, output.text(), report_existed, left_running)


def _group_alive(pgid: int, grace_s: float = 5.0) -> bool:
    """True when a process of the group is still there `grace_s` after its leader ended."""
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        time.sleep(0.2)
    return True


def rerun(setup: StopSetup, case: StopCase, prefect_api_url: str | None = None) -> subprocess.CompletedProcess:
    """The same audit again, to completion."""
    out = Path(case.db_url.removeprefix("sqlite:///")).parent / "report"
    return subprocess.run(audit_command(setup, case.db_url, out), env=_environment(setup, prefect_api_url),
                          cwd=setup.repo_root, capture_output=True, text=True, timeout=900)
