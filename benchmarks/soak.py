"""Soak test of the demo audit: many audits in a row, each a fresh process, all must end as expected.

Why: an intermittent crash (2 of 11 valid audits exited 3 with "partially initialized module
'torch' has no attribute 'Tensor'": two threads doing first imports of the heavy stack at once)
shows only over many runs. This runs `mllm-audit audit models:/demo-captioner@candidate` (baseline
`@champion`) again and again, cycling through three kinds of data directory prepared once with
`mllm-audit demo` and copied:

- `fresh`: registry and probe set only, no audit database: both versions are explained (400 probes);
- `nightly`: the baseline already audited, the candidate not (as every night after a new candidate);
- `resumed`: one data directory reused by every run of this kind, both runs stored: nothing is
  explained again, the stored verdict is read and the report rewritten.

Every run must exit 1 (a regression: the shortcut version's explanations are worse) with
`verdict: FAIL`. Each run's kind, exit code, verdict, seconds and load average go to
`benchmarks/results/soak.json`, rewritten after every run.

    .venv/bin/python -m benchmarks.soak [--runs 30] [--kinds fresh,nightly,resumed] [--python PY --code-root DIR]

`--python OTHER/.venv/bin/python --code-root OTHER` soaks another checkout OTHER
(the numbers "before" a fix).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.machine import machine_info

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results" / "soak.json"
KINDS = ("fresh", "nightly", "resumed")
EXPECTED_EXIT, EXPECTED_VERDICT = 1, "FAIL"
COMMAND = ["audit", "models:/demo-captioner@candidate"]


def cli(code: tuple[str, Path], home: Path, prefect_home: Path, *args: str, timeout: int = 3600) -> tuple[int, str, float]:
    """Run `mllm-audit --home HOME ARGS` in a fresh process; exit code, output, seconds."""
    python, code_root = code
    env = {k: v for k, v in os.environ.items()
           if k not in ("MLLM_AUDIT_DB_URL", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "PREFECT_API_URL",
                        "MLLM_AUDIT_CONFIG", "MLLM_AUDIT_HOME")}
    env.update(PREFECT_HOME=str(prefect_home), PYTHONPATH=str(code_root))
    started = time.perf_counter()
    try:
        done = subprocess.run([python, "-m", "flows.cli", "--home", str(home), *args], cwd=code_root, env=env,
                              capture_output=True, text=True, timeout=timeout)
        return done.returncode, done.stdout + done.stderr, time.perf_counter() - started
    except subprocess.TimeoutExpired as expired:
        output = (expired.stdout or b"").decode(errors="replace") if isinstance(expired.stdout, bytes) else (expired.stdout or "")
        return -1, output + f"\n(timed out after {timeout} s)", time.perf_counter() - started


def prepare(code: tuple[str, Path], root: Path, prefect_home: Path) -> dict[str, Path]:
    """The three template data directories (see the module note)."""
    full = root / "template-full"
    code_, output, _ = cli(code, full, prefect_home, "demo")
    if code_ != 0:
        raise SystemExit(f"mllm-audit demo failed (exit {code_}):\n{output[-3000:]}")
    registry_only = root / "template-fresh"
    shutil.copytree(full, registry_only, ignore=shutil.ignore_patterns("audit.db*", "reports"))
    baseline_only = root / "template-nightly"
    shutil.copytree(registry_only, baseline_only)
    code_, output, _ = cli(code, baseline_only, prefect_home, "audit", "models:/demo-captioner@champion", "--no-compare")
    if code_ != 0:
        raise SystemExit(f"the baseline-only audit failed (exit {code_}):\n{output[-3000:]}")
    resumed = root / "resumed"
    shutil.copytree(full, resumed)
    return {"fresh": registry_only, "nightly": baseline_only, "resumed": resumed}


def one_run(code: tuple[str, Path], index: int, kind: str, templates: dict[str, Path], root: Path,
            prefect_home: Path) -> dict[str, Any]:
    if kind == "resumed":
        home = templates["resumed"]
    else:
        home = root / f"run-{index:03d}-{kind}"
        shutil.copytree(templates[kind], home)
    load_before = list(os.getloadavg())
    exit_code, output, seconds = cli(code, home, prefect_home, *COMMAND)
    verdict = re.search(r"^verdict: (\w+)", output, re.M)
    explained = re.search(r"(\d+) explained now, (\d+) already stored", output)
    run = {"index": index, "kind": kind, "exit_code": exit_code, "verdict": verdict.group(1) if verdict else None,
           "explained_now": int(explained.group(1)) if explained else None, "seconds": round(seconds, 1),
           "load_average_before": load_before, "load_average_after": list(os.getloadavg())}
    run["as_expected"] = exit_code == EXPECTED_EXIT and run["verdict"] == EXPECTED_VERDICT
    if not run["as_expected"]:
        run["output_tail"] = output[-4000:]
    if kind != "resumed":
        shutil.rmtree(home, ignore_errors=True)
    return run


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = {kind: [r["seconds"] for r in runs if r["kind"] == kind] for kind in KINDS}
    return {
        "runs": len(runs),
        "as_expected": sum(r["as_expected"] for r in runs),
        "unexpected": [r["index"] for r in runs if not r["as_expected"]],
        "all_as_expected": all(r["as_expected"] for r in runs),
        "exit_codes": dict(Counter(str(r["exit_code"]) for r in runs)),
        "verdicts": dict(Counter(str(r["verdict"]) for r in runs)),
        "runs_per_kind": {kind: len(values) for kind, values in seconds.items()},
        "median_seconds_per_kind": {kind: sorted(v)[len(v) // 2] for kind, v in seconds.items() if v},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--python", default=sys.executable, help="interpreter of the code to soak")
    parser.add_argument("--code-root", type=Path, default=REPO, help="source tree of the code to soak")
    parser.add_argument("--kinds", default=",".join(KINDS), help="kinds of data directory to cycle through")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    kinds = [kind for kind in args.kinds.split(",") if kind]
    if not kinds or set(kinds) - set(KINDS):
        parser.error(f"--kinds takes some of {', '.join(KINDS)}")
    code = (args.python, args.code_root)
    root = Path(tempfile.mkdtemp(prefix="mllm-audit-soak-"))
    prefect_home = root / "prefect"  # one Prefect home for all runs, as on a user's machine
    result: dict[str, Any] = {
        "benchmark": "soak", "command": "mllm-audit " + " ".join(COMMAND),
        "expected": {"exit_code": EXPECTED_EXIT, "verdict": EXPECTED_VERDICT},
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "code_root": str(args.code_root),
        "machine": {**machine_info(), "load_average_at_start": list(os.getloadavg())},
    }
    started = time.perf_counter()
    templates = prepare(code, root, prefect_home)
    result["prepare_seconds"] = round(time.perf_counter() - started, 1)
    runs: list[dict[str, Any]] = []
    for index in range(args.runs):
        kind = kinds[index % len(kinds)]
        runs.append(one_run(code, index, kind, templates, root, prefect_home))
        print(f"run {index + 1}/{args.runs} {kind}: exit {runs[-1]['exit_code']}, verdict {runs[-1]['verdict']}, "
              f"{runs[-1]['seconds']} s", flush=True)
        result.update(summary=summary(runs), runs=runs, load_average_at_end=list(os.getloadavg()))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(result["summary"], indent=2))
    if not result["summary"]["all_as_expected"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
