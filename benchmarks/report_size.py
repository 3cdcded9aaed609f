"""Report size and build time for 50, 200 and 1000 probes of a stored synthetic audit.

The goal it checks: a 200-probe report fits in one HTML file of at most 15 MB, and a 1000-probe
report stays usable by splitting its gallery into several files, each within the same budget.
Input: `benchmarks/report_input.py` writes a stored audit (two runs, their verdict, thumbnails)
to SQLite; the benchmark times reading it (`load_report_data`) and building the report apart.
Load averages at the start and end are recorded (a shared machine makes times pessimistic).

Run: .venv/bin/python -m benchmarks.report_size [--sizes 50 200 1000]; writes
benchmarks/results/report_size.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from benchmarks.machine import machine_info
from benchmarks.report_input import build_stored_audit
from reports import ReportOptions, build_report, load_report_data

REPO = Path(__file__).resolve().parent.parent
BUDGET = ReportOptions().size_budget_bytes


def bench(n_probes: int, workdir: Path) -> dict[str, object]:
    t0 = time.perf_counter()
    repo, run_id = build_stored_audit(workdir / f"audit-{n_probes}.db", n_probes, seed=n_probes)
    t_store = time.perf_counter() - t0
    try:
        t1 = time.perf_counter()
        data = load_report_data(repo, run_id)
        t_load = time.perf_counter() - t1
        t2 = time.perf_counter()
        paths = build_report(data, workdir / f"report-{n_probes}")
        t_build = time.perf_counter() - t2
    finally:
        repo.close()
    sizes = {p.name: p.stat().st_size for p in paths.all_html}
    summary = json.loads(paths.json.read_text())
    return {
        "n_probes": n_probes,
        "n_maps": len(data.maps) + len(data.baseline_maps),
        "verdict": data.verdict.verdict if data.verdict else None,
        "store_s": round(t_store, 2),
        "load_s": round(t_load, 2),
        "build_s": round(t_build, 2),
        "n_html_files": len(sizes),
        "main_html_bytes": sizes[paths.html.name],
        "max_html_bytes": max(sizes.values()),
        "total_html_bytes": sum(sizes.values()),
        "json_bytes": paths.json.stat().st_size,
        "within_budget_per_file": max(sizes.values()) <= BUDGET,
        "warnings": summary["warnings"],
        "files": sizes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "report_size.json")
    args = parser.parse_args()
    machine = {**machine_info(), "load_average_at_start": list(os.getloadavg())}
    results = []
    with tempfile.TemporaryDirectory(prefix="mllm-audit-report-bench-") as tmp:
        for n in args.sizes:
            results.append(bench(n, Path(tmp)))
            print(json.dumps({k: v for k, v in results[-1].items() if k != "files"}), flush=True)
    payload = {
        "benchmark": "report_size",
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "size_budget_bytes_per_file": BUDGET,
        "page_size": ReportOptions().page_size,
        "plotly": metadata.version("plotly"),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "machine": machine,
        "results": results,
    }
    payload["machine"]["load_average_at_end"] = list(os.getloadavg())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
