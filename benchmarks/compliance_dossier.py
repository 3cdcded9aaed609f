"""How long a compliance dossier of the demo model takes, and how large its files are.

Measured as a user meets it: `mllm-audit demo` on a fresh data directory first (it registers,
audits and judges both versions, and its last step already writes the dossier), then
`mllm-audit compliance models:/demo-captioner` as its own command, several times (each a new
process: Python and library start-up included). Then, in this process, the phases of one dossier
(the registry, reading the database, laying out the document, HTML, PDF, JSON), so a slow whole
can be explained. `--keep DIR` copies the dossier's files out of the throwaway data directory.
Load averages are recorded around every step (the development machine is shared).

Run: .venv/bin/python -m benchmarks.compliance_dossier [--n-probes 200] [--repeats 3] [--keep DIR]; writes
benchmarks/results/compliance_dossier.json.
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
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.demo import REPO, run_demo
from benchmarks.machine import machine_info

MODEL = "demo-captioner"


def run_command(home: Path) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MLLM_AUDIT_DB_URL", "MLFLOW_TRACKING_URI",
                                                            "MLFLOW_REGISTRY_URI", "MLLM_AUDIT_HOME")}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flows.cli", "--home", str(home), "compliance", f"models:/{MODEL}"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"`mllm-audit compliance` failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    return wall, done.stdout


def phases(home: Path) -> dict[str, float]:
    """Seconds of each phase of one dossier, in this process (imports of the renderers included in
    the first phase that needs them, reported apart)."""
    os.environ["MLLM_AUDIT_HOME"] = str(home)
    from flows.config import load_settings
    from storage.repository import AuditRepository

    out: dict[str, float] = {}
    t = time.perf_counter()
    import matplotlib  # noqa: F401 - timed: the renderers' imports
    import reportlab.platypus  # noqa: F401

    out["import_renderers_s"] = time.perf_counter() - t
    from reports.compliance import load_dossier_data
    from reports.compliance.content import build_document
    from reports.compliance.html import render_html
    from reports.compliance.json_doc import dossier_json
    from reports.compliance.pdf import render_pdf

    from flows.compliance import sync_registry_versions

    settings = load_settings(home=str(home))
    with AuditRepository(settings.storage_url()) as repo:
        t = time.perf_counter()
        sync_registry_versions(repo, MODEL, settings)  # MLflow's import and its store included
        out["registry_sync_s"] = time.perf_counter() - t
        t = time.perf_counter()
        data = load_dossier_data(repo, MODEL)
        out["read_database_and_verify_chain_s"] = time.perf_counter() - t
    t = time.perf_counter()
    document = build_document(data)
    out["build_document_with_trend_png_s"] = time.perf_counter() - t
    for name, render in (("render_html_s", lambda: render_html(document, "f")),
                         ("render_pdf_s", lambda: render_pdf(document, "f")),
                         ("render_json_s", lambda: json.dumps(dossier_json(data)))):
        t = time.perf_counter()
        render()
        out[name] = time.perf_counter() - t
    return {k: round(v, 3) for k, v in out.items()}


def pdf_pages(pdf: Path) -> int | None:
    tool = shutil.which("pdfinfo")
    if tool is None:
        return None
    info = subprocess.run([tool, str(pdf)], capture_output=True, text=True, check=True).stdout
    match = re.search(r"^Pages:\s+(\d+)", info, re.M)
    return int(match.group(1)) if match else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-probes", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="Copy the demo's dossier files here.")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "compliance_dossier.json")
    args = parser.parse_args()
    machine = {**machine_info(), "load_average_at_start": list(os.getloadavg())}
    with tempfile.TemporaryDirectory(prefix="mllm-audit-dossier-bench-") as tmp:
        home = Path(tmp) / "home"
        summary, demo_wall, _ = run_demo(home, args.n_probes)
        load_after_demo = list(os.getloadavg())
        runs = []
        for _ in range(args.repeats):
            wall, stdout = run_command(home)
            runs.append({"wall_s": round(wall, 2), "load_average_after": list(os.getloadavg())})
        folder = home / "compliance" / MODEL
        files = {p.name: p.stat().st_size for p in sorted(folder.glob("dossier.*"))}
        pages = pdf_pages(folder / "dossier.pdf")
        split = phases(home)
        document = json.loads((folder / "dossier.json").read_text())
        if args.keep is not None:
            shutil.copytree(folder, args.keep, dirs_exist_ok=True)
    payload = {
        "benchmark": "compliance_dossier",
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commands": [f"mllm-audit --home <fresh folder> demo --n-probes {args.n_probes}",
                     f"mllm-audit --home <same folder> compliance models:/{MODEL}  (x{args.repeats})"],
        "demo_wall_s": round(demo_wall, 1),
        "demo_verdict": summary["verdict"],
        "load_average_after_demo": load_after_demo,
        "compliance_command": runs,
        "compliance_command_median_s": sorted(r["wall_s"] for r in runs)[len(runs) // 2],
        "files_bytes": files,
        "pdf_pages": pages,
        "phases_in_process": split,
        "dossier": {"versions": len(document["model"]["versions"]), "audits": len(document["audits"]),
                    "ledger_entries": document["ledger"]["entries"], "chain": document["ledger"]["statement"]},
        "terminal": stdout.splitlines(),
        "machine": {**machine, "load_average_at_end": list(os.getloadavg())},
    }
    print(json.dumps({k: payload[k] for k in ("demo_wall_s", "compliance_command_median_s", "files_bytes",
                                               "pdf_pages", "phases_in_process")}, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
