"""The audit: a Prefect flow from a registered model version to a stored, judged, reported run.

`audit_model_version(model_uri, probe_set, methods, baseline_uri=None, ...)` builds an
`AuditRequest` from its plain parameters (deployments pass JSON, `prefect.yaml`) and, for the
candidate and then its baseline, `audit_version`: resolve and download the version (MLflow) ->
read the probe set, every file as the audit uses it (`auditors.probes`; any problem stops here,
before anything is written) ->
find-or-create the model version and probe set rows and start-or-resume the run (storage) -> fan
the probes not yet stored out to tasks in batches (`flows.fanout`; each batch explained together,
validated with great-expectations and stored in one transaction, transient failures retried) -> read the run's records ONCE -> aggregate them and finish the run.
Then `flows.verdicts.judge` compares the two runs' records and stores the verdict, the alert is
sent (`flows.alerts`), the report is built from the same records (`reports`), and the model's
compliance dossier is regenerated (`flows.compliance`).

A fail verdict makes the flow run end FAILED (an `AuditRegressionError` raised after everything is
recorded), which is what Prefect automations and `mllm-audit audit`'s exit code 1 rely on; the
exception carries the `AuditOutcome` with the report path.

Resumption: work is committed per batch, and the run is keyed by (model version, probe set,
configuration), so rerunning a killed audit continues where it stopped and never duplicates rows.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from auditors.gc_policy import batch_collections
from auditors.probes import ProbeSet
from comparison import ComparisonResult, RunResults
from flows.compliance import regenerate_dossier_task
from flows.config import Settings, load_settings
from flows.defaults import resolve_probe_dir
from flows.errors import AuditRegressionError, ModelNotFoundError
from flows.fanout import BackgroundPreparation, explain_all
from flows.identity import audit_config, check_methods
from flows.outcome import AuditOutcome
from flows.registry import ResolvedModel, resolve_model
from flows.request import DEFAULT_BATCH_SIZE, AuditRequest
from flows.runners import default_task_runner
from flows.stopping import note_interruption, stop_requested
from flows.tasks import StartedRun, resolve_model_task, start_run_task, validate_probe_set_task
from flows.verdicts import judge, regression_config
from flows.worker import probe_layout_for, repository_for

CHAMPION_ALIAS = "champion"
REPORT_STEM = "report"


@dataclass
class AuditedVersion:
    """One version's audited run, with its records as read once after the last probe was stored."""

    resolved: ResolvedModel
    probe_set: ProbeSet
    run: StartedRun
    records: RunResults
    n_written: int
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def run_id(self) -> int:
        return self.run.run_id


def audit_version(request: AuditRequest, settings: Settings, methods: tuple[str, ...], probe_dir: str) -> AuditedVersion:
    """Explain, score and store every probe of `request.model_uri` not stored yet; finish the run."""
    from flows.convert import aggregate_records
    from reports import read_run

    home, db = str(settings.home), settings.storage_url()
    timings: dict[str, float] = {}
    t = time.perf_counter()
    resolved = resolve_model_task(request.model_uri, home)
    timings["resolve_s"] = time.perf_counter() - t
    t = time.perf_counter()
    probe_set = validate_probe_set_task(probe_dir)
    timings["validate_probes_s"] = time.perf_counter() - t
    config = audit_config(methods, request.explain_settings, request.metric_options)
    t = time.perf_counter()
    run = start_run_task(resolved, probe_dir, config, db)
    timings["start_run_s"] = time.perf_counter() - t
    run_id, repository = run.run_id, repository_for(db)
    done = set(run.done)
    todo = [probe.id for probe in probe_set.probes if probe.id not in done]
    get_run_logger().info("audit run %s of %s: %d probes, %d already stored", run_id, resolved.source_uri,
                          len(probe_set.probes), len(done))
    t = time.perf_counter()
    preparation = BackgroundPreparation.start_if_useful(resolved, home, todo)
    try:
        n_written, work = explain_all(run_id, todo, request=request, probe_dir=probe_dir, resolved=resolved,
                                      methods=methods, db_url=db, home=home)
    except BaseException as exc:
        # a stop request: flag it first, so the batches in worker threads stop after their probe in hand
        error = f"interrupted by {signal.Signals(stop_requested()).name}" if note_interruption(exc) else (
            f"{type(exc).__name__}: {exc}")
        timings["explain_wall_s"] = time.perf_counter() - t
        repository.finish_run(run_id, "failed", timings, error=error[:2000])  # a rerun resumes it
        raise
    finally:
        if preparation is not None:
            preparation.close()
    timings["explain_wall_s"] = time.perf_counter() - t
    timings.update(work)
    t = time.perf_counter()
    records = read_run(repository, run_id)
    timings["read_s"] = time.perf_counter() - t
    if todo or run.status != "completed":
        t = time.perf_counter()
        aggregates = aggregate_records(records.per_probe_metrics())
        repository.set_aggregate_metrics(run_id, aggregates)
        records = replace(records, metrics=[*records.per_probe_metrics(), *aggregates])
        timings["aggregate_s"] = time.perf_counter() - t
        repository.finish_run(run_id, "completed", timings)
    return AuditedVersion(resolved, probe_set, run, records, n_written, timings)


def champion_uri(resolved: ResolvedModel, home: str) -> str | None:
    """`models:/<name>@champion` when that alias exists and is another version, else None."""
    uri = f"models:/{resolved.name}@{CHAMPION_ALIAS}"
    try:
        champion = resolve_model(uri, load_settings(home=home), download=False)
    except ModelNotFoundError:
        return None
    return None if champion.version == resolved.version else uri


def write_report(repository: Any, candidate: AuditedVersion, baseline: AuditedVersion | None, out_dir: Path,
                 verdict: ComparisonResult | None) -> tuple[str, str]:
    """The report from the records already read and the verdict just stored (nothing decoded twice)."""
    from reports import build_report, load_report_data

    runs = {v.run_id: v.records for v in (candidate, baseline) if v is not None}
    data = load_report_data(repository, candidate.run_id, baseline.run_id if baseline else None, runs=runs,
                            verdict=verdict)
    paths = build_report(data, out_dir, stem=REPORT_STEM)
    return str(paths.html), str(paths.json)


@flow(name="audit-model-version", task_runner=default_task_runner(), log_prints=True)
def audit_model_version(
    model_uri: str,
    probe_set: str | None = None,
    methods: list[str] | None = None,
    baseline_uri: str | None = None,
    db_url: str | None = None,
    out_dir: str | None = None,
    home: str | None = None,
    compare: bool = True,
    batch_size: int = DEFAULT_BATCH_SIZE,
    explain_settings: dict[str, Any] | None = None,
    metric_options: dict[str, Any] | None = None,
    webhook_url: str | None = None,
    regression: dict[str, Any] | None = None,
    show_progress: bool = True,
) -> AuditOutcome:
    """Audit one registered model version on a probe set and compare it with its baseline.

    The parameters are `flows.request.AuditRequest`'s fields, plain and JSON-able for deployments
    (None: the default). `baseline_uri` defaults to the model's `champion` alias when it exists and
    is another version; with `compare=False` (or no baseline) the run is stored and reported
    without a verdict.
    """
    request = AuditRequest.from_parameters(
        model_uri=model_uri, probe_set=probe_set, methods=methods, baseline_uri=baseline_uri, db_url=db_url,
        out_dir=out_dir, home=home, compare=compare, batch_size=batch_size, explain_settings=explain_settings,
        metric_options=metric_options, webhook_url=webhook_url, regression=regression, show_progress=show_progress,
    )
    with batch_collections():  # the whole audit is one batch job (`auditors.gc_policy`)
        return _audit(request)


def _audit(request: AuditRequest) -> AuditOutcome:
    """The flow's body: audit the candidate, then its baseline; judge, alert, report, refresh the dossier."""
    from flows.alerts import send_alerts

    started = time.perf_counter()
    settings = load_settings(home=request.home, db_url=request.db_url)
    methods = check_methods(request.methods or settings.methods)
    # the config file's [explain] table (e.g. a short max_new_tokens for real-size models), then the caller's
    request = replace(request, explain_settings={**settings.explain, **request.explain_settings})
    config = regression_config(settings, request.regression)
    probe_dir = resolve_probe_dir(request.probe_set, settings)
    repository = repository_for(settings.storage_url())

    candidate = audit_version(request, settings, methods, probe_dir)
    timings = candidate.timings
    baseline_uri = (request.baseline_uri or champion_uri(candidate.resolved, str(settings.home))) if request.compare else None
    baseline: AuditedVersion | None = None
    verdict: ComparisonResult | None = None
    if baseline_uri:
        baseline = audit_version(request.for_baseline(baseline_uri), settings, methods, probe_dir)
        if baseline.run_id == candidate.run_id:  # the baseline is this very version: nothing to compare
            baseline, baseline_uri = None, None
        else:
            t = time.perf_counter()
            verdict = judge(repository, candidate.records, baseline.records, config, probe_layout_for(probe_dir))
            timings["compare_s"] = time.perf_counter() - t

    report_dir = Path(request.out_dir).expanduser() if request.out_dir else settings.reports_dir / f"run-{candidate.run_id}"
    undelivered: tuple[str, ...] = ()
    if verdict is not None and baseline is not None:
        # alert first (the report's alerts section then shows this audit's), naming the report's path
        deliveries = send_alerts(repository, verdict, model_version_id=candidate.run.model_version_id,
                                 probe_set_id=candidate.run.probe_set_id,
                                 baseline_model_version_id=baseline.run.model_version_id,
                                 report_path=str((report_dir / f"{REPORT_STEM}.html").resolve()), settings=settings,
                                 webhook_url=request.webhook_url)
        undelivered = tuple(f"{d.channel}: {d.error}" for d in deliveries if d.failed)
        for line in undelivered:  # never fatal (the verdict stands), never silent
            get_run_logger().warning("alert channel failed: %s", line)
    t = time.perf_counter()
    report_html, report_json = write_report(repository, candidate, baseline, report_dir, verdict)
    repository.set_report_path(candidate.run_id, report_html)
    timings["report_s"] = time.perf_counter() - t
    t = time.perf_counter()
    regenerate_dossier_task(candidate.resolved.name, str(settings.home), request.db_url)  # the file stays current
    timings["dossier_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - started
    outcome = _outcome(candidate, baseline, baseline_uri, verdict, methods, report_html, report_json, undelivered)
    _publish(outcome)
    if outcome.failed:
        raise AuditRegressionError(outcome)
    return outcome


def _outcome(candidate: AuditedVersion, baseline: AuditedVersion | None, baseline_uri: str | None,
             verdict: ComparisonResult | None, methods: tuple[str, ...], report_html: str,
             report_json: str, undelivered_alerts: tuple[str, ...]) -> AuditOutcome:
    """What the caller is told: the candidate's run, the verdict (or "none" without a baseline), the
    report and any alert channel that failed, with the candidate's timings."""
    return AuditOutcome(
        run_id=candidate.run_id,
        model=candidate.resolved,
        probe_set_name=candidate.probe_set.name,
        probe_set_version=str(candidate.probe_set.version),
        probe_set_hash=candidate.probe_set.content_hash,
        methods=methods,
        verdict=verdict.verdict if verdict else "none",
        reason=verdict.headline if verdict else "reference audit (no baseline to compare with)",
        reasons=tuple(verdict.reasons) if verdict else (),
        n_probes=len(candidate.probe_set.probes),
        n_explained=candidate.n_written,
        n_resumed=len(candidate.run.done),
        baseline_run_id=baseline.run_id if baseline else None,
        baseline_uri=baseline_uri,
        report_html=report_html,
        report_json=report_json,
        timings=candidate.timings,
        undelivered_alerts=undelivered_alerts,
    )


def _publish(outcome: AuditOutcome) -> None:
    """The outcome in the Prefect UI (markdown artifact) and the flow's log."""
    try:
        from prefect.artifacts import create_markdown_artifact

        create_markdown_artifact(markdown=outcome.markdown(), description=outcome.summary_line()[:500])
    except Exception:  # noqa: BLE001 - the UI summary is a convenience, never a reason to fail
        pass
    get_run_logger().info(outcome.summary_line())


def run_audit(request: AuditRequest, task_runner: Any = None) -> AuditOutcome:
    """Run the flow for `request` (on `task_runner`, e.g. `flows.runners.dask_task_runner()`) and
    return its outcome, fail verdict included (the CLI's entry point).

    Why: a fail verdict raises inside the flow (so Prefect records a failed run), but a caller that
    wants the report path and verdict should not need to catch Prefect's exception plumbing.
    """
    flow_fn = audit_model_version.with_options(task_runner=task_runner) if task_runner else audit_model_version
    try:
        return flow_fn(**request.flow_parameters())
    except AuditRegressionError as exc:
        return exc.outcome
