"""How long `mllm-audit register` and `audit` take to fail against a registry that is not there.

Why: an unreachable MLflow tracking server once took 4 to 13 minutes to fail, silently (issue 11,
goal: a clear exit 2 within 30 s by default). Two kinds of "not there", both on loopback: a port
nothing listens on (connection refused) and a socket that accepts connections but never answers
(a hung server or a black-holed route). Each command runs as a user runs it (a subprocess, default
retry settings), and its exit code, retry lines and wall time are recorded with the load averages.

Run: .venv/bin/python -m benchmarks.unreachable_registry; writes benchmarks/results/unreachable_registry.json.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.machine import write_results

REPO = Path(__file__).resolve().parent.parent
GOAL_S = 30.0


def _run(args: list[str], tracking_uri: str, tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_HTTP_REQUEST_", "MLLM_AUDIT_"))
           and k not in ("PREFECT_API_URL", "MLFLOW_REGISTRY_URI")}
    env.update(MLFLOW_TRACKING_URI=tracking_uri, MLLM_AUDIT_HOME=str(tmp / "home"), PREFECT_HOME=str(tmp / "prefect"))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flows.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=1800)
    wall = time.perf_counter() - started
    lines = done.stderr.splitlines()
    return {"command": args[0], "exit_code": done.returncode, "wall_s": round(wall, 2),
            "retry_lines": [line for line in lines if "retry" in line],
            "last_line": lines[-1] if lines else "", "stdout": done.stdout, "met_goal": done.returncode == 2 and wall <= GOAL_S}


def main() -> None:
    from auditors.demo import build_default_probe_set, demo_model_dir

    from testkit.loopback import free_port

    out = REPO / "benchmarks" / "results" / "unreachable_registry.json"
    load_start = list(os.getloadavg())
    cases = []
    with tempfile.TemporaryDirectory(prefix="mllm-audit-unreachable-") as name:
        tmp = Path(name)
        probes = build_default_probe_set(tmp / "probes", n=1)  # the product's own builder, not a test factory
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)  # completes handshakes from its backlog, never answers
        try:
            targets = {"connection refused": f"http://127.0.0.1:{free_port()}",
                       "no answer": f"http://127.0.0.1:{silent.getsockname()[1]}"}
            for kind, uri in targets.items():
                for args in (["register", str(demo_model_dir("clean")), "--name", "captioner"],
                             ["audit", "models:/captioner@candidate", "--probes", str(probes)]):
                    case = {"registry": kind, **_run(args, uri, tmp)}
                    print(f"{kind:>18} {args[0]:>8}: exit {case['exit_code']} in {case['wall_s']:.1f} s, "
                          f"{len(case['retry_lines'])} retry lines", flush=True)
                    cases.append(case)
        finally:
            silent.close()
    write_results(out, "unreachable_registry", load_start, goal=f"exit 2 within {GOAL_S:.0f} s with default settings",
                  cases=cases)


if __name__ == "__main__":
    main()
