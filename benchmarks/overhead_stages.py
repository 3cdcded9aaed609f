"""What each stage of a nightly candidate audit costs in CPU seconds, measured one stage at a time.

Why next to the end-to-end timing (`benchmarks.audit_overhead`): on a shared machine wall times
swing with the load, and an audit overlaps stages on threads; the process CPU time of each stage run
alone is the load-independent account of where the overhead goes. The stages call the flow's own
functions in the flow's order (the tasks' plain functions, the worker's explain/score/validate/store
steps batch by batch, the comparison, the alert and the report), in a fresh process that starts from
the same imports as the timed sides, with a database where the baseline is already audited.

    python benchmarks/overhead_stages.py --home H --probe-dir P --db URL   (prints one RESULT line)
"""

from __future__ import annotations

import argparse
import json
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

# run as a script beside overhead_sides.py (the measured source tree may be another checkout, whose
# `benchmarks` package lacks these modules)
from overhead_sides import BATCH_SIZE, METHODS, MODEL_NAME, common_imports


def measure_stages(home: Path, probe_dir: str, db_url: str) -> dict[str, dict[str, float]]:
    common_imports(home)
    stages: dict[str, dict[str, float]] = {}

    @contextmanager
    def stage(name: str) -> Iterator[None]:
        cpu, wall = time.process_time(), time.perf_counter()
        yield
        stages[name] = {"cpu_s": round(time.process_time() - cpu, 3), "wall_s": round(time.perf_counter() - wall, 3)}

    from flows.audit import write_report
    from flows.config import load_settings
    from flows.convert import aggregate_records, explanation_to_probe_result
    from flows.identity import audit_config
    from flows.tasks import resolve_model_task, start_run_task, validate_probe_set_task
    from flows.worker import explain_probes, model_for, repository_for, score_probe

    settings = load_settings()
    with stage("resolve the version (MLflow import and lookups)"):
        resolved = resolve_model_task.fn(f"models:/{MODEL_NAME}@candidate", str(settings.home))
    with stage("read and validate the probe set"):
        probe_set = validate_probe_set_task.fn(probe_dir)
    with stage("open the database, register, start the run"):
        repository = repository_for(db_url)
        run = start_run_task.fn(resolved, probe_dir, audit_config(METHODS, {}, {}), db_url)
    with stage("open the model (also on the explain side)"):
        opened = model_for(str(resolved.local_dir), resolved.source_uri, str(settings.home))
    batches = [list(probe_set.probes[i: i + BATCH_SIZE]) for i in range(0, len(probe_set.probes), BATCH_SIZE)]
    with stage("explain (explain_batch, as on the explain side)"):
        explained = [explain_probes(opened, batch, METHODS, {}, BATCH_SIZE) for batch in batches]
    with stage("score"):
        scored = [[score_probe(e, p, probe_set, opened.model, opened.processor, {}) for e, p in zip(es, batch)]
                  for es, batch in zip(explained, batches)]
    with stage("convert to records"):
        results = [[explanation_to_probe_result(e, p, v, METHODS) for e, p, v in zip(es, batch, vs)]
                   for es, batch, vs in zip(explained, batches, scored)]
    from flows.validation import prepare, validate_attribution_table

    with stage("import great-expectations, build its context"):
        prepare()
    with stage("validate the attribution tables (per batch)"):
        for batch in results:
            validate_attribution_table(batch, METHODS).raise_for_failures()
    with stage("store (one transaction per batch)"):
        for batch in results:
            repository.add_probe_results(run.run_id, batch)
    from reports import read_run

    with stage("read the candidate's run"):
        candidate = read_run(repository, run.run_id)
    with stage("aggregate and finish the run"):
        aggregates = aggregate_records(candidate.per_probe_metrics())
        repository.set_aggregate_metrics(run.run_id, aggregates)
        candidate = replace(candidate, metrics=[*candidate.per_probe_metrics(), *aggregates])
        repository.finish_run(run.run_id, "completed", {})
    with stage("baseline: resolve, start (resumed), read its run"):
        base_resolved = resolve_model_task.fn(f"models:/{MODEL_NAME}@champion", str(settings.home))
        base = start_run_task.fn(base_resolved, probe_dir, audit_config(METHODS, {}, {}), db_url)
        baseline = read_run(repository, base.run_id)
    from flows.alerts import send_alerts
    from flows.verdicts import judge, regression_config
    from flows.worker import probe_layout_for

    with stage("read the probe set's layout (masks as footprints, word classes, cues)"):
        layout = probe_layout_for(probe_dir)
    with stage("compare and store the verdict"):
        verdict = judge(repository, candidate, baseline, regression_config(settings, None), layout)
    out = Path(home) / "stage-report"
    with stage("alert (MLflow tag, alert record)"):
        send_alerts(repository, verdict, model_version_id=run.model_version_id, probe_set_id=run.probe_set_id,
                   baseline_model_version_id=base.model_version_id, report_path=str(out / "report.html"),
                   settings=settings)
    audited = {"records": candidate, "run_id": run.run_id}
    with stage("report"):
        write_report(repository, _Version(**audited), _Version(baseline, base.run_id), out, verdict)
    from flows.compliance import write_dossier

    with stage("compliance dossier (registry sync, ledger, HTML + PDF + JSON)"):
        write_dossier(MODEL_NAME, settings)
    return stages


class _Version:
    """The two attributes of `flows.audit.AuditedVersion` that `write_report` reads."""

    def __init__(self, records: Any, run_id: int) -> None:
        self.records, self.run_id = records, run_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--probe-dir", required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    print("RESULT " + json.dumps(measure_stages(args.home, args.probe_dir, args.db)))


if __name__ == "__main__":
    main()
