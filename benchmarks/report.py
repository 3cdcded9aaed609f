"""Report size and build time for 50, 200 and 1000 synthetic probes.

Writes benchmarks/results/report.json. The goal it checks: a 200-probe report fits in one HTML
file of at most 15 MB, and a 1000-probe report stays usable by splitting its gallery into several
files, each within the same budget. Synthetic records (tests/reports/factories.py): 224x224 noisy
scenes (which compress worse than real photos of flat shapes), 7-word answers plus EOS, two
methods, candidate and baseline, 16x16 maps.

Run: PYTHONPATH=. .venv/bin/python benchmarks/report.py [--sizes 50 200 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Running `python benchmarks/report.py` puts benchmarks/ first on sys.path, where sibling
# benchmark scripts (benchmarks/storage.py) would shadow the packages of the same name.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or os.getcwd()).resolve() != _HERE]
sys.path.insert(0, str(REPO))

from tqdm import tqdm  # noqa: E402

from reports import ReportOptions, build_report  # noqa: E402
from tests.reports.factories import make_report_data  # noqa: E402

BUDGET = ReportOptions().size_budget_bytes


def machine_info() -> dict[str, object]:
    import numpy
    import plotly

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "numpy": numpy.__version__,
        "plotly": plotly.__version__,
        "note": "shared 2-core machine; other jobs were running, so times are upper bounds",
    }


def bench(n_probes: int, out_root: Path) -> dict[str, object]:
    t0 = time.perf_counter()
    data = make_report_data(n_probes, seed=n_probes)
    t_data = time.perf_counter() - t0
    t1 = time.perf_counter()
    paths = build_report(data, out_root / f"n{n_probes}")
    t_build = time.perf_counter() - t1
    sizes = {p.name: p.stat().st_size for p in paths.all_html}
    return {
        "n_probes": n_probes,
        "n_maps": len(data.maps) + len(data.baseline_maps),
        "build_s": round(t_build, 2),
        "synthetic_data_s": round(t_data, 2),
        "n_html_files": len(sizes),
        "main_html_bytes": sizes[paths.html.name],
        "max_html_bytes": max(sizes.values()),
        "total_html_bytes": sum(sizes.values()),
        "json_bytes": paths.json.stat().st_size,
        "within_budget_per_file": max(sizes.values()) <= BUDGET,
        "files": sizes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "report.json")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="mllm-audit-report-bench-") as tmp:
        for n in tqdm(args.sizes, desc="report benchmark", unit="size"):
            results.append(bench(n, Path(tmp)))
            tqdm.write(json.dumps({k: v for k, v in results[-1].items() if k != "files"}))
    payload = {
        "benchmark": "report",
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "size_budget_bytes_per_file": BUDGET,
        "page_size": ReportOptions().page_size,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "machine": machine_info(),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
