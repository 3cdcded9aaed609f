"""The audit: a Prefect flow from a registered model version to a stored, compared, reported run.

`audit_model_version(model_uri, probe_set, methods, baseline_uri=None, ...)`:
resolve and download the version (MLflow) -> validate the probe set (great-expectations; a failure
stops here, before anything is written) -> find-or-create the model version and probe set rows and
start-or-resume the run (storage) -> fan the probes not yet stored out to tasks in batches (each
explains, scores, validates and stores its probes, one transaction per probe; transient failures
are retried) -> finish the run -> audit the baseline if it has no run on the same probe set and
configuration -> compare (flows/regression.py) -> write the report -> alert (flows/alerts.py).

A fail verdict makes the flow run end FAILED (an `AuditRegressionError` raised after everything is
recorded), which is what Prefect automations and `mllm-audit audit`'s exit code 1 rely on; the
exception carries the `AuditOutcome` with the report path.

Resumption: work is committed per probe, and the run is keyed by (model version, probe set,
configuration), so rerunning a killed audit continues where it stopped and never duplicates rows.
"""

from __future__ import annotations

import os
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed

from flows.config import Settings, load_settings
from flows.defaults import resolve_probe_dir
from flows.errors import AuditRegressionError, FlowsInputError, ModelNotFoundError, ValidationFailedError
from flows.outcome import AuditOutcome
from flows.registry import ResolvedModel, parse_model_uri, resolve_model
from flows.runners import default_task_runner
from flows.worker import ProbeBatchResult, aggregate_run_metrics, repository_for, run_probe_batch

CHAMPION_ALIAS = "champion"
DEFAULT_METHODS = ("tam", "msea_arc")
_NO_RETRY = (FlowsInputError, ValidationFailedError, KeyError, TypeError)


def _transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a failed batch unless the failure is the input's fault (retrying cannot fix that)."""
    try:
        error = state.result(raise_on_failure=False)
    except Exception as exc:  # noqa: BLE001 - the state's payload may itself fail to load
        error = exc
    if isinstance(error, _NO_RETRY):
        return False
    try:
        from auditors.errors import AuditorInputError, UnsupportedModelError
        from storage.errors import StorageInputError

        if isinstance(error, (AuditorInputError, UnsupportedModelError, StorageInputError)):
            return False
    except ImportError:
        pass
    return True


# ---- lineage ----------------------------------------------------------------------------------


def package_versions() -> dict[str, str]:
    versions = {}
    for dist in ("mllm-audit", "torch", "transformers", "mlflow", "prefect", "great-expectations",
                 "sqlalchemy", "numpy", "plotly"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return versions


def code_version() -> str:
    """The git commit of the source tree when there is one, else the package version."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    if commit:
        return f"git:{commit}"
    try:
        return f"mllm-audit=={metadata.version('mllm-audit')}"
    except metadata.PackageNotFoundError:
        return "mllm-audit (unversioned source tree)"


def audit_config(methods: tuple[str, ...], explain_settings: dict[str, Any], metric_options: dict[str, Any]) -> dict[str, Any]:
    """Everything that changes what an audit computes; the run's identity hashes it."""
    from auditors import ExplainSettings
    from auditors.errors import AuditorInputError

    unknown = sorted(set(explain_settings) - set(ExplainSettings.__dataclass_fields__))
    if unknown:
        raise FlowsInputError(f"unknown explain setting(s): {', '.join(unknown)}")
    try:
        settings = ExplainSettings.from_dict(explain_settings).to_dict()
    except (AuditorInputError, TypeError, ValueError) as exc:
        raise FlowsInputError(f"invalid explain settings: {exc}") from exc
    return {"methods": list(methods), "explain_settings": settings, "metric_options": dict(metric_options)}


def check_methods(methods: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    from auditors import available_methods

    chosen = tuple(methods) if methods else DEFAULT_METHODS
    known = set(available_methods())
    unknown = [m for m in chosen if m not in known]
    if unknown:
        raise FlowsInputError(f"unknown method(s): {', '.join(unknown)} (available: {', '.join(sorted(known))})")
    if len(set(chosen)) != len(chosen):
        raise FlowsInputError(f"methods listed twice: {', '.join(chosen)}")
    return chosen


# ---- tasks ------------------------------------------------------------------------------------


@task(name="resolve-model", retries=2, retry_delay_seconds=3, retry_condition_fn=_transient, cache_policy=NO_CACHE)
def resolve_model_task(model_uri: str, home: str) -> ResolvedModel:
    """Registry lookup and download into the local model cache (weights hash verified)."""
    return resolve_model(model_uri, load_settings(home=home))


@task(name="validate-probe-set", cache_policy=NO_CACHE)
def validate_probe_set_task(probe_dir: str) -> dict[str, Any]:
    """great-expectations probe-manifest suite, then the loader's own checks; raises on failure."""
    from auditors.probes import ProbeSetError

    from flows.validation import validate_probe_manifest
    from flows.worker import mark_probe_manifest_validated, probe_manifest_validated, probe_set_for

    if not probe_manifest_validated(probe_dir):  # e.g. the baseline's audit right after the candidate's
        validate_probe_manifest(probe_dir).raise_for_failures()
        mark_probe_manifest_validated(probe_dir)
    try:
        probe_set = probe_set_for(probe_dir)
    except ProbeSetError as exc:
        raise ValidationFailedError("probe_manifest", [str(p) for p in getattr(exc, "problems", [exc])]) from exc
    return {"name": probe_set.name, "version": probe_set.version, "content_hash": probe_set.content_hash,
            "keys": [p.id for p in probe_set.probes]}


@task(name="start-run", cache_policy=NO_CACHE)
def start_run_task(resolved: ResolvedModel, probe_dir: str, config: dict[str, Any], db_url: str | None) -> dict[str, Any]:
    """Find-or-create the model version and probe set rows; start or resume the run."""
    from flows.convert import model_version_record, probe_set_records
    from flows.worker import probe_set_for

    repository = repository_for(db_url)
    model_row = repository.get_or_create_model_version(model_version_record(resolved))
    set_record, probe_records = probe_set_records(probe_set_for(probe_dir))
    set_row = repository.get_or_create_probe_set(set_record, probe_records)
    run = repository.start_run(model_row.id, set_row.id, config, package_versions(), code_version())
    return {"run_id": run.id, "model_version_id": model_row.id, "probe_set_id": set_row.id,
            "config_hash": run.config_hash, "status": run.status,
            "done": sorted(repository.completed_probe_keys(run.id))}


@task(name="explain-probes", retries=2, retry_delay_seconds=2, retry_condition_fn=_transient, cache_policy=NO_CACHE)
def explain_probes_task(
    run_id: int,
    probe_keys: list[str],
    probe_dir: str,
    model_uri: str,
    local_dir: str | None,
    methods: list[str],
    explain_settings: dict[str, Any],
    metric_options: dict[str, Any],
    db_url: str | None,
    home: str,
) -> ProbeBatchResult:
    """Explain, score, validate and store one batch of probes (skips those already stored)."""
    return run_probe_batch(
        run_id,
        probe_keys,
        probe_dir=probe_dir,
        model_uri=model_uri,
        local_dir=local_dir,
        methods=tuple(methods),
        explain_settings=explain_settings,
        metric_options=metric_options,
        db_url=db_url,
        home=home,
    )


# ---- helpers of the flow ------------------------------------------------------------------------


def _chunks(keys: list[str], size: int) -> list[list[str]]:
    size = max(1, int(size))
    return [keys[i : i + size] for i in range(0, len(keys), size)]


def _warm_model_in_background(resolved: ResolvedModel, home: str) -> None:
    """Open the model in this process while the probe set is validated (both take seconds).

    Only with the thread-pool runner, whose tasks share this process's model cache; Dask workers
    open their own copy. A failure here is ignored: the first batch hits it again and reports it.
    """
    import threading

    from prefect.context import FlowRunContext
    from prefect.task_runners import ThreadPoolTaskRunner

    from flows.worker import model_for

    context = FlowRunContext.get()
    if context is None or not isinstance(context.task_runner, ThreadPoolTaskRunner) or resolved.local_dir is None:
        return

    def warm() -> None:
        try:
            model_for(str(resolved.local_dir), resolved.source_uri, home)
        except Exception:  # noqa: BLE001 - see docstring
            pass

    threading.Thread(target=warm, name="mllm-audit-model-warmup", daemon=True).start()


def _progress_artifact(progress: float, description: str, artifact_id: Any = None) -> Any:
    """Progress in the Prefect UI; never lets an API hiccup break the audit."""
    from prefect.artifacts import create_progress_artifact, update_progress_artifact

    try:
        if artifact_id is None:
            return create_progress_artifact(progress=progress, description=description)
        update_progress_artifact(artifact_id, progress=progress, description=description)
    except Exception:  # noqa: BLE001
        return artifact_id
    return artifact_id


def _explain_all(
    run_id: int,
    todo: list[str],
    *,
    probe_dir: str,
    resolved: ResolvedModel,
    methods: tuple[str, ...],
    explain_settings: dict[str, Any],
    metric_options: dict[str, Any],
    db_url: str | None,
    home: str,
    batch_size: int,
    show_progress: bool,
) -> tuple[int, dict[str, float]]:
    """Submit the batches, follow them with a terminal bar and a UI progress artifact."""
    from tqdm.auto import tqdm

    label = f"{resolved.name} v{resolved.version}"
    totals = {"explain_s": 0.0, "score_s": 0.0, "validate_s": 0.0, "store_s": 0.0}
    if not todo:
        return 0, totals
    futures = [
        explain_probes_task.submit(
            run_id, batch, probe_dir, resolved.source_uri, str(resolved.local_dir) if resolved.local_dir else None,
            list(methods), explain_settings, metric_options, db_url, home,
        )
        for batch in _chunks(todo, batch_size)
    ]
    artifact = _progress_artifact(0.0, f"explaining {len(todo)} probes of {label}")
    written = 0
    done_batches = 0
    update_every = max(1, len(futures) // 20)
    pids: list[int] = []
    failures: list[BaseException] = []
    with tqdm(total=len(todo), desc=f"audit {label}", unit="probe", disable=not show_progress, dynamic_ncols=True) as bar:
        for future in as_completed(futures):
            try:
                result: ProbeBatchResult = future.result()
            except BaseException as exc:  # noqa: BLE001 - collected, the run is marked failed below
                failures.append(exc)
                continue
            written += len(result.written)
            pids.append(result.pid)
            for key in totals:
                totals[key] += getattr(result, key)
            bar.update(len(result.written) + len(result.skipped))
            done_batches += 1
            if done_batches % update_every == 0 or bar.n >= len(todo):  # ~20 UI updates, not one per batch
                _progress_artifact(100.0 * bar.n / len(todo), f"{bar.n}/{len(todo)} probes of {label}", artifact)
    if failures:
        raise failures[0]
    totals["worker_processes"] = float(len(set(pids)))
    totals["batches_in_flow_process"] = float(sum(1 for pid in pids if pid == os.getpid()))
    return written, totals


def _champion_uri(resolved: ResolvedModel, home: str) -> str | None:
    """`models:/<name>@champion` when that alias exists and is another version, else None."""
    uri = f"models:/{resolved.name}@{CHAMPION_ALIAS}"
    try:
        champion = resolve_model(uri, load_settings(home=home), download=False)
    except ModelNotFoundError:
        return None
    return None if champion.version == resolved.version else uri


def _regression_config(settings: Settings, overrides: dict[str, Any] | None) -> Any:
    """Tolerances and drift limits: the config file's `regression` table, then the flow's parameter."""
    from flows.regression import RegressionConfig, RegressionError

    raw = {**settings.regression, **(overrides or {})}
    try:
        return RegressionConfig.from_mapping(raw)
    except (RegressionError, TypeError, ValueError) as exc:
        raise FlowsInputError(f"invalid regression settings: {exc}") from exc


def _compare(repository: Any, run_id: int, baseline_run_id: int, config: Any) -> Any:
    """Compare with the baseline; store the comparisons only the first time (reruns never duplicate)."""
    from flows.regression import compare_stored_runs

    existing = [c for c in repository.get_comparisons(run_id) if c.baseline_run_id == baseline_run_id]
    return compare_stored_runs(repository, run_id, baseline_run_id, config, store=not existing)


REPORT_STEM = "report"


def _write_report(repository: Any, run_id: int, baseline_run_id: int | None, out_dir: Path, verdict: Any) -> tuple[str, str]:
    from reports import build_report, load_report_data

    summary = verdict.summary() if verdict is not None else None
    data = load_report_data(repository, run_id, baseline_run_id, verdict=summary)
    paths = build_report(data, out_dir, stem=REPORT_STEM)
    return str(paths.html), str(paths.json)


def _alert(repository: Any, verdict: Any, run_id: int, model_version_id: int, probe_set_id: int,
           baseline_model_version_id: int | None, report_html: str, settings: Settings, webhook_url: str | None) -> None:
    """Send and record alerts once per run and verdict (a rerun does not page anyone twice)."""
    from flows.alerts import AlertPayload, AlertSettings, dispatch_alerts

    if any(a.verdict == verdict.verdict for a in repository.get_alerts(run_id)):
        return
    payload = AlertPayload.from_verdict(
        verdict,
        repository.get_model_version(model_version_id),
        run_id=run_id,
        baseline_model=repository.get_model_version(baseline_model_version_id) if baseline_model_version_id else None,
        probe_set=repository.get_probe_set(probe_set_id),
        report_path=report_html,
    )
    alert_settings = AlertSettings(
        webhook_url=webhook_url or settings.webhook_url,
        mlflow_tracking_uri=settings.effective_tracking_uri,
        mlflow_registry_uri=settings.effective_registry_uri,
    )
    results = dispatch_alerts(payload, alert_settings)
    if verdict.verdict in alert_settings.alert_on:
        repository.add_alert(payload.to_alert_record(results))


def _markdown_summary(outcome: AuditOutcome) -> str:
    lines = [
        f"# mllm-audit: {outcome.model.name} v{outcome.model.version}",
        "",
        f"**Verdict: {outcome.verdict.upper()}** - {outcome.reason}",
        "",
        f"- audit run: {outcome.run_id}; probe set {outcome.probe_set_name}@{outcome.probe_set_version}"
        f" ({outcome.n_probes} probes, {outcome.n_explained} explained now, {outcome.n_resumed} already stored)",
        f"- methods: {', '.join(outcome.methods)}",
        f"- baseline: {outcome.baseline_uri or 'none'} (run {outcome.baseline_run_id})",
        f"- report: `{outcome.report_html}`",
    ]
    lines += [f"- {reason}" for reason in outcome.reasons[:20]]
    return "\n".join(lines)


# ---- the flow ---------------------------------------------------------------------------------


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
    batch_size: int = 16,
    explain_settings: dict[str, Any] | None = None,
    metric_options: dict[str, Any] | None = None,
    webhook_url: str | None = None,
    regression: dict[str, Any] | None = None,
    show_progress: bool = True,
) -> AuditOutcome:
    """Audit one registered model version on a probe set and compare it with its baseline.

    `probe_set`: a probe set folder; None means the default probe set under the data directory.

    `baseline_uri` defaults to the model's `champion` alias when it exists and is another version;
    with `compare=False` (or no baseline) the run is stored and reported without a verdict.
    `regression`: tolerances and drift limits (`flows.regression.RegressionConfig` fields), over
    the config file's `regression` table.
    """
    started = time.perf_counter()
    logger = get_run_logger()
    settings = load_settings(home=home, db_url=db_url)
    home_str = str(settings.home)
    db = settings.storage_url()
    chosen = check_methods(methods or settings.methods)
    explain_settings = {**settings.explain, **(explain_settings or {})}  # the config file's [explain], then the caller's
    metric_options = dict(metric_options or {})
    parse_model_uri(model_uri)  # a malformed URI is an input error before any work

    regression_config = _regression_config(settings, regression)
    probe_dir = resolve_probe_dir(probe_set, settings)

    timings: dict[str, float] = {}
    t = time.perf_counter()
    resolved = resolve_model_task(model_uri, home_str)
    timings["resolve_s"] = time.perf_counter() - t
    _warm_model_in_background(resolved, home_str)
    t = time.perf_counter()
    probe_info = validate_probe_set_task(probe_dir)
    timings["validate_probes_s"] = time.perf_counter() - t
    config = audit_config(chosen, explain_settings, metric_options)
    t = time.perf_counter()
    run = start_run_task(resolved, probe_dir, config, db)
    timings["start_run_s"] = time.perf_counter() - t
    run_id = int(run["run_id"])
    repository = repository_for(db)
    done = set(run["done"])
    todo = [key for key in probe_info["keys"] if key not in done]
    logger.info("audit run %s of %s: %d probes, %d already stored", run_id, resolved.source_uri, len(probe_info["keys"]), len(done))

    t = time.perf_counter()
    try:
        n_written, work = _explain_all(
            run_id, todo, probe_dir=probe_dir, resolved=resolved, methods=chosen, explain_settings=explain_settings,
            metric_options=metric_options, db_url=db, home=home_str, batch_size=batch_size, show_progress=show_progress,
        )
    except BaseException as exc:
        timings["explain_wall_s"] = time.perf_counter() - t
        repository.finish_run(run_id, "failed", timings, error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    timings["explain_wall_s"] = time.perf_counter() - t
    timings.update(work)
    timings["probes_total_s"] = time.perf_counter() - started
    if todo or run["status"] != "completed":
        t = time.perf_counter()
        aggregate_run_metrics(repository, run_id)
        timings["aggregate_s"] = time.perf_counter() - t
        repository.finish_run(run_id, "completed", timings)

    baseline_run_id: int | None = None
    baseline_model_version_id: int | None = None
    verdict = None
    if compare:
        baseline_uri = baseline_uri or _champion_uri(resolved, home_str)
    else:
        baseline_uri = None
    if baseline_uri:
        baseline = audit_model_version(
            model_uri=baseline_uri, probe_set=probe_dir, methods=list(chosen), db_url=db, home=home_str,
            compare=False, batch_size=batch_size, explain_settings=explain_settings,
            metric_options=metric_options, show_progress=show_progress,
        )
        if baseline.run_id == run_id:
            baseline_uri = None  # the baseline is this very version: nothing to compare
        else:
            baseline_run_id = baseline.run_id
            baseline_model_version_id = repository.get_run(baseline_run_id).model_version_id
            t = time.perf_counter()
            verdict = _compare(repository, run_id, baseline_run_id, regression_config)
            timings["compare_s"] = time.perf_counter() - t

    report_dir = Path(out_dir).expanduser() if out_dir else settings.reports_dir / f"run-{run_id}"
    if verdict is not None:
        # alert first (the report's alerts section then shows this run's), naming the report's path
        _alert(repository, verdict, run_id, run["model_version_id"], run["probe_set_id"], baseline_model_version_id,
               str((report_dir / f"{REPORT_STEM}.html").resolve()), settings, webhook_url)
    t = time.perf_counter()
    report_html, report_json = _write_report(repository, run_id, baseline_run_id, report_dir, verdict)
    timings["report_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - started

    if verdict is None:
        reason = "reference audit (no baseline to compare with)"
        reasons: tuple[str, ...] = ()
        verdict_name = "none"
    else:
        reasons = tuple(verdict.reasons)
        verdict_name = verdict.verdict
        reason = reasons[0] if reasons else f"all compared metrics within tolerance of {baseline_uri}"
    outcome = AuditOutcome(
        run_id=run_id,
        model=resolved,
        probe_set_name=probe_info["name"],
        probe_set_version=str(probe_info["version"]),
        probe_set_hash=probe_info["content_hash"],
        methods=chosen,
        verdict=verdict_name,
        reason=reason,
        reasons=reasons,
        n_probes=len(probe_info["keys"]),
        n_explained=n_written,
        n_resumed=len(done),
        baseline_run_id=baseline_run_id,
        baseline_uri=baseline_uri,
        report_html=report_html,
        report_json=report_json,
        timings=timings,
    )
    try:
        from prefect.artifacts import create_markdown_artifact

        create_markdown_artifact(markdown=_markdown_summary(outcome), description=outcome.summary_line()[:500])
    except Exception:  # noqa: BLE001 - the UI summary is a convenience, never a reason to fail
        pass
    logger.info(outcome.summary_line())
    if outcome.failed:
        raise AuditRegressionError(outcome)
    return outcome


def audit_with_runner(task_runner: Any, **parameters: Any) -> AuditOutcome:
    """Run `audit_model_version` on another task runner (e.g. `flows.runners.dask_task_runner()`)."""
    return audit_model_version.with_options(task_runner=task_runner)(**parameters)


def run_audit(**parameters: Any) -> AuditOutcome:
    """Call the flow and return its outcome, fail verdict included (the CLI's entry point).

    Why: a fail verdict raises inside the flow (so Prefect records a failed run), but a caller that
    wants the report path and verdict should not need to catch Prefect's exception plumbing.
    """
    try:
        return audit_model_version(**parameters)
    except AuditRegressionError as exc:
        return exc.outcome

