"""Commands that audit and report: `demo`, `audit`, `watch`, `report`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

import typer

from flows.cli.app import EXIT_OK, EXIT_REGRESSION, app
from flows.cli.guard import announce_prefect, guarded, settings, split_methods
from flows.defaults import DEFAULT_N_PROBES
from flows.request import DEFAULT_BATCH_SIZE

DEMO_MODEL_NAME = "demo-captioner"


def _task_runner(dask: Optional[str], resolved_settings: Any) -> Any:
    address = dask or resolved_settings.dask_address
    if not address:
        return None
    from flows.runners import check_scheduler_answers, dask_task_runner

    if address != "local":
        check_scheduler_answers(address)  # seconds, before Prefect starts: not Dask's 30 s after
    return dask_task_runner(address)


def _run(request: Any, resolved_settings: Any, task_runner: Any = None) -> Any:
    """The registry answers (seconds, a line per retry) and knows the versions named, before Prefect
    starts (a mistyped name or alias is named in seconds, not after Prefect's start); then the audit.
    Nothing is downloaded here: the flow resolves again and downloads (MLflow keeps its store open in
    this process, so the second lookup costs milliseconds)."""
    from flows.audit import run_audit
    from flows.registry import check_registry, resolve_model

    check_registry(resolved_settings)
    for uri in (request.model_uri, request.baseline_uri):
        if uri:
            resolve_model(uri, resolved_settings, download=False)
    announce_prefect()
    return run_audit(request, task_runner)


def _print_outcome(outcome: Any, elapsed: float) -> int:
    typer.echo(f"audit run {outcome.run_id}: {outcome.model.source_uri} on probe set "
               f"{outcome.probe_set_name}@{outcome.probe_set_version} ({outcome.progress_line()}) in {elapsed:.1f} s")
    if outcome.baseline_uri:
        typer.echo(f"baseline: {outcome.baseline_uri} (audit run {outcome.baseline_run_id})")
    typer.echo(f"report: {outcome.report_html}")
    colour = {"pass": typer.colors.GREEN, "warn": typer.colors.YELLOW, "fail": typer.colors.RED}.get(outcome.verdict)
    typer.secho(f"verdict: {outcome.verdict.upper()} - {outcome.reason}", fg=colour)
    for reason in outcome.reasons[:5]:
        typer.echo(f"  - {reason}")
    _warn_undelivered(outcome)
    return EXIT_REGRESSION if outcome.failed else EXIT_OK


def _warn_undelivered(outcome: Any) -> None:
    """One stderr line per alert channel that failed: the verdict stands, but a nightly job's
    reader must learn that the MLflow tag or the webhook did not get through."""
    for line in outcome.undelivered_alerts:
        typer.secho(f"warning: alert not delivered for {outcome.model.name} v{outcome.model.version}: {line}",
                    fg=typer.colors.YELLOW, err=True)


@app.command()
@guarded
def demo(
    n_probes: int = typer.Option(DEFAULT_N_PROBES, "--n-probes", min=3, help="Probes in the default probe set."),
    batch_size: int = typer.Option(DEFAULT_BATCH_SIZE, "--batch-size", min=1, help="Probes per Prefect task."),
    out: Optional[Path] = typer.Option(None, "--out", help="Report folder (default <home>/reports/run-N)."),
) -> int:
    """Register the embedded demo models, audit the shortcut version against the clean champion, write the report.

    Exits 0 whenever the demo ran, whatever the verdict. Rerunning reuses the registrations,
    the probe set and the stored runs (nothing is duplicated).
    """
    started = time.perf_counter()
    resolved_settings = settings()
    from auditors.demo import demo_model_dir

    from flows.defaults import default_probe_set_dir, ensure_default_probe_set
    from flows.registry import register_model
    from flows.request import AuditRequest

    typer.echo(f"data directory: {resolved_settings.home}")
    champion = register_model(demo_model_dir("clean"), DEMO_MODEL_NAME, alias="champion", settings=resolved_settings)
    candidate = register_model(demo_model_dir("shortcut"), DEMO_MODEL_NAME, alias="candidate", settings=resolved_settings)
    typer.echo(f"registered {champion.source_uri} as @champion (clean), {candidate.source_uri} as @candidate (shortcut)")
    probe_dir = default_probe_set_dir(resolved_settings, n_probes)
    if not (probe_dir / "probes.jsonl").is_file():
        typer.echo(f"building the default probe set ({n_probes} probes) in {probe_dir}")
    probe_dir = ensure_default_probe_set(resolved_settings, n_probes)
    outcome = _run(AuditRequest(
        model_uri=f"models:/{DEMO_MODEL_NAME}@candidate", probe_set=str(probe_dir),
        baseline_uri=f"models:/{DEMO_MODEL_NAME}@champion", db_url=resolved_settings.db_url,
        home=str(resolved_settings.home), out_dir=str(out) if out else None, batch_size=batch_size,
    ), resolved_settings)
    _print_outcome(outcome, time.perf_counter() - started)
    return EXIT_OK


@app.command()
@guarded
def audit(
    model_uri: str = typer.Argument(..., help="models:/NAME/VERSION or models:/NAME@ALIAS"),
    probes: Optional[Path] = typer.Option(None, "--probes", help="Probe set folder (probeset.yaml + probes.jsonl); default: the built-in default probe set."),
    baseline: Optional[str] = typer.Option(None, "--baseline", help="Baseline model URI (default: the model's @champion)."),
    methods: Optional[str] = typer.Option(None, "--methods", help="Comma-separated, e.g. tam,msea_arc."),
    db: Optional[str] = typer.Option(None, "--db", help="Database URL (default sqlite under the data directory)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Report folder."),
    batch_size: int = typer.Option(DEFAULT_BATCH_SIZE, "--batch-size", min=1, help="Probes per Prefect task."),
    no_compare: bool = typer.Option(False, "--no-compare", help="Store and report without a baseline comparison."),
    dask: Optional[str] = typer.Option(None, "--dask", help="Run probe batches on Dask: scheduler address or 'local'."),
    webhook: Optional[str] = typer.Option(None, "--webhook", help="POST the verdict to this URL on warn/fail."),
) -> int:
    """Audit a registered model version on a probe set and compare it with its baseline (exit 1 on regression)."""
    started = time.perf_counter()
    resolved_settings = settings(db_url=db, webhook_url=webhook, dask_address=dask)  # flags checked as read
    from flows.request import AuditRequest

    request = AuditRequest(  # checks URIs and the probe folder before Prefect starts (seconds)
        model_uri=model_uri, probe_set=str(probes) if probes else None, methods=split_methods(methods),
        baseline_uri=baseline, db_url=resolved_settings.db_url, home=str(resolved_settings.home),
        out_dir=str(out) if out else None, batch_size=batch_size, compare=not no_compare, webhook_url=webhook,
    )
    if request.probe_set is not None:  # read (so validated) before Prefect starts; the flow reuses the read
        from flows.defaults import resolve_probe_dir
        from flows.worker import probe_set_for

        probe_set_for(resolve_probe_dir(request.probe_set, resolved_settings))
    outcome = _run(request, resolved_settings, _task_runner(dask, resolved_settings))
    return _print_outcome(outcome, time.perf_counter() - started)


@app.command()
@guarded
def watch(
    name: str = typer.Argument(..., help="Registered model name."),
    probes: Optional[Path] = typer.Option(None, "--probes", help="Probe set folder; default: the built-in default probe set."),
    methods: Optional[str] = typer.Option(None, "--methods", help="Comma-separated methods."),
    db: Optional[str] = typer.Option(None, "--db", help="Database URL."),
    dask: Optional[str] = typer.Option(None, "--dask", help="Dask scheduler address or 'local'."),
) -> int:
    """Audit every version of NAME not audited yet against its @champion (exit 1 if any regressed)."""
    resolved_settings = settings(db_url=db, dask_address=dask)
    from flows.registry import check_registry
    from flows.request import check_probe_folder
    from flows.watch import WatchRegressionError, watch_registry

    if probes is not None:
        check_probe_folder(probes)
    check_registry(resolved_settings)
    announce_prefect()
    runner = _task_runner(dask, resolved_settings)
    flow_fn = watch_registry.with_options(task_runner=runner) if runner else watch_registry
    try:
        result = flow_fn(name=name, probe_set=str(probes) if probes else None, methods=list(split_methods(methods)) or None,
                         db_url=resolved_settings.db_url, home=str(resolved_settings.home))
    except WatchRegressionError as exc:
        result = exc.watch
    typer.echo(f"{name}: champion v{result.champion_version or '-'}; already audited: "
               f"{', '.join(result.already_audited) or 'none'}")
    for outcome in result.audited:
        typer.echo(f"  v{outcome.model.version}: {outcome.verdict.upper()} - {outcome.reason} ({outcome.report_html})")
        _warn_undelivered(outcome)
    if not result.audited:
        typer.echo("  nothing new to audit")
    return EXIT_REGRESSION if result.failed_versions else EXIT_OK


@app.command()
@guarded
def report(
    run_id: int = typer.Argument(..., help="Audit run id."),
    baseline_run: Optional[int] = typer.Option(None, "--baseline-run", help="Show the verdict against this baseline run (default: the run's latest stored verdict)."),
    db: Optional[str] = typer.Option(None, "--db", help="Database URL."),
    out: Optional[Path] = typer.Option(None, "--out", help="Report folder (default <home>/reports/run-N)."),
) -> int:
    """Render the HTML report (and JSON summary) of a stored audit run, with its stored verdict."""
    resolved_settings = settings(db_url=db)
    from reports import build_report, load_report_data
    from storage.repository import AuditRepository

    repository = AuditRepository(resolved_settings.storage_url())
    data = load_report_data(repository, run_id, baseline_run)
    paths = build_report(data, out or resolved_settings.reports_dir / f"run-{run_id}")
    typer.echo(f"report: {paths.html}")
    typer.echo(f"summary: {paths.json}")
    return EXIT_OK
