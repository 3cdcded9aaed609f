"""The README's demo figures, measured: run `mllm-audit demo` on a fresh data directory and record
its verdict, headline, reasons and every check with its CI.

Why a script: the README quotes the demo's verdict and confidence intervals; they must come from a
run anyone can repeat, not be typed in. The demo runs as a user runs it (a subprocess of the
command line, a new data directory, Prefect's temporary API); the figures are read back from the
report's JSON summary, which holds the stored verdict. Wall time and load averages are recorded
(the development machine is shared).

Run: .venv/bin/python -m benchmarks.demo [--n-probes 200]; writes benchmarks/results/demo.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.machine import machine_info

REPO = Path(__file__).resolve().parent.parent


def run_demo(home: Path, n_probes: int) -> tuple[dict, float, str]:
    """The demo's report summary, its wall time and its terminal output."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MLLM_AUDIT_DB_URL", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "PREFECT_API_URL",
                        "MLLM_AUDIT_CONFIG")}
    env.pop("MLLM_AUDIT_HOME", None)
    env["PREFECT_HOME"] = str(home / "prefect")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flows.cli", "--home", str(home), "demo", "--n-probes", str(n_probes)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - started
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise SystemExit(f"the demo failed (exit {done.returncode}):\n{output}")
    report = re.search(r"^report: (.+\.html)$", done.stdout, re.M)
    if report is None:
        raise SystemExit(f"the demo printed no report path:\n{output}")
    summary = json.loads(Path(report.group(1)).with_suffix(".json").read_text())
    return summary, wall, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-probes", type=int, default=200)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "demo.json")
    args = parser.parse_args()
    machine = {**machine_info(), "load_average_at_start": list(os.getloadavg())}
    with tempfile.TemporaryDirectory(prefix="mllm-audit-demo-bench-") as tmp:
        summary, wall, stdout = run_demo(Path(tmp) / "home", args.n_probes)
    checks = [{key: c.get(key) for key in ("method", "metric", "group", "verdict", "counts", "delta", "ci_low",
                                            "ci_high", "n_pairs", "n_probes", "tolerance")}
              for c in summary["comparisons"]]
    payload = {
        "benchmark": "demo",
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": f"mllm-audit --home <fresh folder> demo --n-probes {args.n_probes}",
        "wall_s": round(wall, 1),
        "verdict": summary["verdict"],
        "headline": summary["headline"],
        "reasons": summary["reasons"],
        "words": summary["words"],
        "report_bytes": summary["sizes_bytes"],
        "failing": sorted(f"{c['method']}/{c['metric']}" + (f"[{c['group']}]" if c["group"] else "")
                          for c in checks if c["verdict"] == "fail" and c["counts"]),
        "reported_only_failing": sorted(f"{c['method']}/{c['metric']}" + (f"[{c['group']}]" if c["group"] else "")
                                        for c in checks if c["verdict"] == "fail" and not c["counts"]),
        "checks": checks,
        "comparison_settings": summary["comparison_settings"],
        "terminal": stdout.splitlines()[-8:],
        "machine": machine,
    }
    print(json.dumps({k: payload[k] for k in ("wall_s", "verdict", "headline", "failing")}, indent=2))
    payload["machine"]["load_average_at_end"] = list(os.getloadavg())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
