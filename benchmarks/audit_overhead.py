"""Benchmark: what does an audit cost on top of the explanations it contains? Goal: at most 25 %.

What is timed (the definition, kept from release to release): a **nightly candidate audit** — the
demo's shortcut version (`@candidate`) audited on the 200 default probes with TAM and MSEA+ARC in a
database where its baseline (`@champion`, the clean version) was audited before, so the audit
explains the candidate's 200 probes once and then compares, stores the verdict, tags the version,
writes the report and regenerates the model's compliance dossier, exactly as `mllm-audit audit
models:/NAME@candidate` does every night —
against **pure explain**: the same model opened from the same folder and the same 200 probes
explained with the same call the audit's worker makes (`auditors.explain_batch`, 16 per forward),
nothing else. The measured packages are byte-compiled first, as an installed deployment has them. Each side runs in a fresh process with the same libraries already imported (torch,
transformers, the project's packages and so Prefect, the orchestrator every scheduled audit runs
under; what the audit imports itself — MLflow, great-expectations, SQLAlchemy, Plotly — is timed),
alternating, several rounds (`benchmarks.overhead_sides`); overhead = audit / explain - 1 per round,
the median over rounds judged. Prefect's API is a `prefect server` the benchmark starts (as a
deployment has one); its start and the registrations are set-up, not timed. A reference audit
(no baseline: no comparison, half the report) is measured alongside, and each lever of
`overhead_sides.LEVERS` is switched off in turn to measure its share; `benchmarks.overhead_stages`
then runs the audit's stages one at a time for their CPU seconds (load-independent).

`break_even_explain_per_probe_s`: the pure-explain time per probe at which the measured overhead
(seconds, taken as fixed per probe set) would be exactly 25 %: models slower per probe meet the goal.

    .venv/bin/python -m benchmarks.audit_overhead [--rounds 3] [--levers] [--python PY]

Writes benchmarks/results/audit_overhead.json (with load averages: the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.machine import machine_info
from benchmarks.overhead_sides import BATCH_SIZE, LEVERS, METHODS, N_PROBES
from testkit.loopback import prefect_server

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results" / "audit_overhead.json"
GOAL_OVERHEAD = 0.25
PACKAGES = ("auditors", "comparison", "flows", "reports", "storage")
SERVER_START_TIMEOUT_S = 300.0  # the Prefect server's start is set-up: generous on a loaded machine


def _environment(root: Path, api_url: str | None, code_root: Path = REPO) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("MLLM_AUDIT_DB_URL", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLLM_AUDIT_CONFIG",
                        "PREFECT_API_URL", "MLLM_AUDIT_HOME")}
    env.update(PREFECT_HOME=str(root / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               GX_ANALYTICS_ENABLED="false", PYTHONPATH=str(code_root))
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def side(code: tuple[str, Path], root: Path, api_url: str, *args: str, script: str = "overhead_sides.py") -> dict[str, Any]:
    """Run one side in a fresh process with the code at `code` (interpreter, source tree); its RESULT
    line as a dict. The sides' script is this checkout's, the measured packages the source tree's."""
    python, code_root = code
    done = subprocess.run([python, str(REPO / "benchmarks" / script), *args], cwd=code_root,
                          env=_environment(root, api_url, code_root), capture_output=True, text=True, timeout=1800)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"side {args[0]} failed (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return {**json.loads(lines[-1][len("RESULT "):]), "load_average": list(os.getloadavg())}


def fresh_database(template: Path, root: Path, name: str) -> str:
    """A copy of the database holding only the baseline's run: the candidate is audited from scratch.
    (SQLite's backup API, not a file copy: the database runs in WAL mode, and recent pages may still
    sit in the -wal file.)"""
    path = root / f"{name}.db"
    with sqlite3.connect(template) as source, sqlite3.connect(path) as copy:
        source.backup(copy)
    return f"sqlite:///{path}"


def summarise(explains: list[dict], audits: list[dict]) -> dict[str, Any]:
    ratios = [a["wall_s"] / e["wall_s"] for e, a in zip(explains, audits)]
    cpu_ratios = [a["cpu_s"] / e["cpu_s"] for e, a in zip(explains, audits)]
    explain_s = statistics.median(e["wall_s"] for e in explains)
    audit_s = statistics.median(a["wall_s"] for a in audits)
    overhead = statistics.median(ratios) - 1
    return {
        "pure_explain_s": [round(e["wall_s"], 3) for e in explains],
        "audit_s": [round(a["wall_s"], 3) for a in audits],
        "overhead_per_round": [round(r - 1, 4) for r in ratios],
        "overhead_fraction": round(overhead, 4),
        "cpu_overhead_fraction": round(statistics.median(cpu_ratios) - 1, 4),
        "meets_goal": overhead <= GOAL_OVERHEAD,
        "pure_explain_per_probe_s": round(explain_s / N_PROBES, 4),
        "overhead_s": round(audit_s - explain_s, 3),
        "break_even_explain_per_probe_s": round((audit_s - explain_s) / (GOAL_OVERHEAD * N_PROBES), 4),
        "verdicts": sorted({a["verdict"] for a in audits}),
        "gc_s_explain": [e.get("gc_s") for e in explains],
        "gc_s_audit": [a.get("gc_s") for a in audits],
        "audit_timings_last_round": audits[-1]["timings"],
    }


def compile_sources(python: str, code_root: Path) -> None:
    """Byte-compile the measured packages, as any installed deployment has them (pip compiles on
    install); otherwise a machine with PYTHONDONTWRITEBYTECODE set compiles them again in every
    timed process."""
    packages = [str(code_root / name) for name in PACKAGES if (code_root / name).is_dir()]
    subprocess.run([python, "-m", "compileall", "-q", *packages], check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--levers", action="store_true", help="also measure each lever switched off (2 rounds each)")
    parser.add_argument("--python", default=sys.executable, help="interpreter of the code to measure")
    parser.add_argument("--code-root", type=Path, default=REPO, help="source tree of the code to measure")
    parser.add_argument("--explain-call", choices=("batch", "single"), default="batch",
                        help="the worker's explain call in the measured code (single: before explain_batch)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    started_at, load_start = datetime.now(timezone.utc), list(os.getloadavg())
    root = Path(tempfile.mkdtemp(prefix="mllm-audit-overhead-"))
    compile_sources(args.python, args.code_root)
    # the deployment's API, on loopback; stopped (its process group with it) when the rounds end or fail
    with prefect_server(root / "prefect-server", start_timeout_s=SERVER_START_TIMEOUT_S) as server:
        api_url = server.url
        home = root / "home"
        code = (args.python, args.code_root)
        prepared = side(code, root, api_url, "prepare", "--home", str(home))
        template = Path(prepared["db_path"])
        common = ["--home", str(home), "--probe-dir", prepared["probe_dir"]]
        explain_args = [*common, "--candidate-dir", prepared["candidate_dir"]]
        rounds: dict[str, dict[str, list[dict]]] = {}

        def measure(label: str, n: int, explain_call: str, audit_extra: list[str]) -> None:
            runs = rounds.setdefault(label, {"explain": [], "audit": []})
            for i in range(n):
                db = fresh_database(template, root, f"{label}-{i}")
                audit = ["audit", *common, "--db", db, *audit_extra]
                explain = ["explain", *explain_args, "--explain-call", explain_call]
                first, second = (explain, audit) if i % 2 == 0 else (audit, explain)
                for one in (first, second):
                    result = side(code, root, api_url, *one)
                    runs[one[0]].append(result)
                print(f"{label} round {i + 1}: explain {runs['explain'][-1]['wall_s']:.1f} s, "
                      f"audit {runs['audit'][-1]['wall_s']:.1f} s", flush=True)

        measure("nightly", args.rounds, args.explain_call, [])
        measure("reference", args.rounds, args.explain_call, ["--no-compare"])
        if args.levers:
            for lever in LEVERS:
                call = "single" if lever == "explain_batch" else "batch"
                measure(f"without_{lever}", 2, call, ["--lever-off", lever])
        stages = side(code, root, api_url, "--home", str(home), "--probe-dir", prepared["probe_dir"], "--db",
                      fresh_database(template, root, "stages"), script="overhead_stages.py") \
            if args.code_root == REPO else None
    result = {
        "benchmark": "audit_overhead",
        "definition": __doc__.split("What is timed")[1].split("`break_even")[0].strip(),
        "date": started_at.isoformat(timespec="seconds"),
        "machine": {**machine_info(torch_threads=1), "load_average_at_start": load_start,
                    "load_average_at_end": list(os.getloadavg())},
        "interpreter": args.python, "code_root": str(args.code_root), "explain_call": args.explain_call,
        "probes": N_PROBES, "methods": list(METHODS), "batch_size": BATCH_SIZE,
        "goal_overhead_fraction": GOAL_OVERHEAD,
        **{label: summarise(runs["explain"], runs["audit"]) for label, runs in rounds.items()},
        "stage_costs_s": stages,
        "raw": rounds,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "raw"}, indent=2))
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
