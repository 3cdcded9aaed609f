"""Benchmark: what does the audit pipeline cost on top of the explanations themselves?

Measures, in ONE process and on the same probes, model and settings:

1. pure explain: `auditors.explain` over every probe of the default probe set, in a loop;
2. end-to-end audit: the `audit_model_version` Prefect flow on the same probe set (registry
   resolve + download, great-expectations validation, storage of every map, metric scoring,
   attribution-table validation, aggregates, report), without a baseline comparison so both sides
   explain exactly the same probes once.

Prefect's temporary API is started (by a trivial warm-up flow) and torch/transformers imported
before either measurement; both one-off costs are reported separately. Goal (issue 5): the audit's
overhead over pure explain at most 25%.

    PYTHONPATH=. .venv/bin/python benchmarks/audit_overhead.py [--n-probes 200] [--model-dir DIR]

Pure explain is timed before and after the audit (the mean is used: the load of a shared machine
drifts). `break_even_explain_per_probe_s`: the explain cost per probe above which the measured
overhead stays within the goal.

Writes benchmarks/results/audit_overhead.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Run as a script, this folder would come first on sys.path and benchmarks/storage.py would shadow
# the `storage` package: put the repository first instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))
RESULTS = REPO / "benchmarks" / "results" / "audit_overhead.json"
GOAL_OVERHEAD = 0.25


def _environment(home: Path) -> None:
    os.environ.update({
        "MLLM_AUDIT_HOME": str(home),
        "PREFECT_HOME": str(home / "prefect"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "GX_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
        "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "TOKENIZERS_PARALLELISM": "false",
    })
    for key in ("MLLM_AUDIT_DB_URL", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "PREFECT_API_URL"):
        os.environ.pop(key, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-probes", type=int, default=200)
    parser.add_argument("--model-dir", type=Path, default=None, help="saved model folder (default: demo shortcut)")
    parser.add_argument("--methods", default="tam,msea_arc")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    methods = tuple(m for m in args.methods.split(",") if m)
    load_at_start = os.getloadavg()

    home = Path(tempfile.mkdtemp(prefix="mllm-audit-bench-"))
    _environment(home)
    import torch

    torch.set_num_threads(1)
    t = time.perf_counter()
    import transformers  # noqa: F401 - import cost measured apart from both sides

    import auditors
    from auditors.demo import demo_model_dir

    imports_s = time.perf_counter() - t

    from prefect import flow

    @flow(name="warm-up")
    def warm_up() -> int:
        return 1

    t = time.perf_counter()
    warm_up()
    prefect_start_s = time.perf_counter() - t

    from flows.audit import audit_model_version
    from flows.config import load_settings
    from flows.defaults import ensure_default_probe_set
    from flows.registry import register_model

    settings = load_settings()
    model_dir = args.model_dir or demo_model_dir("shortcut")
    t = time.perf_counter()
    probe_dir = ensure_default_probe_set(settings, args.n_probes)
    build_probes_s = time.perf_counter() - t
    t = time.perf_counter()
    resolved = register_model(model_dir, "bench-captioner", settings=settings)
    register_s = time.perf_counter() - t

    from auditors.probes import load_probe_set

    probe_set = load_probe_set(probe_dir)
    model, processor = auditors.load_pretrained(model_dir)

    def pure_explain() -> tuple[float, int]:
        """The same call the audit makes per probe, nothing else."""
        started = time.perf_counter()
        tokens = 0
        for probe in probe_set.probes:
            explanation = auditors.explain(model, processor, probe.load_image(), probe.prompt, methods=methods)
            tokens += len(explanation.tokens)
        return time.perf_counter() - started, tokens

    # pure explain before AND after the audit: on a shared machine the load drifts, and the mean of
    # the two brackets the audit in time
    explain_before_s, n_tokens = pure_explain()

    t = time.perf_counter()
    outcome = audit_model_version(model_uri=resolved.source_uri, probe_set=str(probe_dir), methods=list(methods),
                                  compare=False, batch_size=args.batch_size, show_progress=False)
    audit_s = time.perf_counter() - t
    explain_after_s, _ = pure_explain()
    explain_s = (explain_before_s + explain_after_s) / 2
    overhead = (audit_s - explain_s) / explain_s
    timings = outcome.timings
    other = audit_s - sum(timings.get(k, 0.0) for k in ("explain_s", "score_s", "validate_s", "store_s", "report_s"))
    result = {
        "benchmark": "audit_overhead",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "torch_threads": torch.get_num_threads(), "load_average_at_start": list(load_at_start),
                    "load_average_at_end": list(os.getloadavg())},
        "model": str(model_dir),
        "architecture": resolved.architecture,
        "probe_set": {"name": probe_set.name, "n_probes": len(probe_set.probes), "content_hash": probe_set.content_hash},
        "methods": list(methods),
        "batch_size": args.batch_size,
        "n_tokens_explained": n_tokens,
        "pure_explain_s": round(explain_s, 3),
        "pure_explain_before_after_s": [round(explain_before_s, 3), round(explain_after_s, 3)],
        "audit_end_to_end_s": round(audit_s, 3),
        "overhead_fraction": round(overhead, 4),
        "goal_overhead_fraction": GOAL_OVERHEAD,
        "meets_goal": overhead <= GOAL_OVERHEAD,
        "pure_explain_per_probe_s": round(explain_s / len(probe_set.probes), 4),
        "overhead_s": round(audit_s - explain_s, 3),
        "break_even_explain_per_probe_s": round((audit_s - explain_s) / (GOAL_OVERHEAD * len(probe_set.probes)), 4),
        "audit_breakdown_s": {
            "explain_in_audit": round(timings.get("explain_s", 0.0), 3),
            "metric_scoring": round(timings.get("score_s", 0.0), 3),
            "attribution_validation_gx": round(timings.get("validate_s", 0.0), 3),
            "storage_writes": round(timings.get("store_s", 0.0), 3),
            "probe_manifest_validation_gx": round(timings.get("validate_probes_s", 0.0), 3),
            "resolve_and_download": round(timings.get("resolve_s", 0.0), 3),
            "report": round(timings.get("report_s", 0.0), 3),
            "everything_else": round(other, 3),
        },
        "one_off_costs_s": {
            "imports_torch_transformers_auditors": round(imports_s, 3),
            "prefect_temporary_api_start": round(prefect_start_s, 3),
            "build_default_probe_set": round(build_probes_s, 3),
            "register_in_mlflow": round(register_s, 3),
        },
        "audit_run_id": outcome.run_id,
        "report": outcome.report_html if args.keep else None,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
