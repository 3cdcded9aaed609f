"""The `mllm-audit` command line.

Exit codes (scripts and CI jobs rely on them): 0 the command ran and nothing regressed; 1 an audit
found a regression (verdict fail); 2 bad input, usage or configuration, or a service that cannot be
used (one line naming the problem); 3 an unexpected internal error. `--debug` shows the traceback.

Heavy libraries (torch, transformers, MLflow, Prefect, great-expectations) are imported inside the
commands, so `--help` answers at once.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from pathlib import Path
from typing import Any, Optional

import typer

EXIT_OK = 0
EXIT_REGRESSION = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3

DEMO_MODEL_NAME = "demo-captioner"

app = typer.Typer(
    name="mllm-audit",
    help="Explain what vision-language models look at, token by token, and catch explanation regressions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
probes_app = typer.Typer(help="Probe sets: validate a folder, import COCO annotations.", no_args_is_help=True)
db_app = typer.Typer(help="The audit database.", no_args_is_help=True)
app.add_typer(probes_app, name="probes")
app.add_typer(db_app, name="db")


class _State:
    debug: bool = False
    verbose: bool = False
    config: Optional[Path] = None
    home: Optional[Path] = None


STATE = _State()


@app.callback()
def _main_options(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show Prefect's flow and task logs."),
    config: Optional[Path] = typer.Option(None, "--config", help="Config file (TOML or YAML)."),
    home: Optional[Path] = typer.Option(None, "--home", help="Data directory (default $MLLM_AUDIT_HOME or ~/.mllm-audit)."),
) -> None:
    STATE.debug, STATE.verbose, STATE.config, STATE.home = debug, verbose, config, home


# ---- shared plumbing ----------------------------------------------------------------------------


def _prepare_environment() -> None:
    """Offline, telemetry off, quiet logs: set before the heavy libraries are imported."""
    for key, value in {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "GX_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "TOKENIZERS_PARALLELISM": "false",
        "GIT_PYTHON_REFRESH": "quiet",
    }.items():
        os.environ.setdefault(key, value)
    if not STATE.verbose:
        # Prefect's console lines (and its tracebacks of failed runs) stay off the terminal; the flow
        # and task logs still reach the Prefect API/UI, and the CLI prints its own one-line outcome.
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
    for noisy in ("mlflow", "alembic", "great_expectations", "httpx", "transformers"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def _settings(**overrides: Any) -> Any:
    from flows.config import load_settings

    _prepare_environment()
    settings = load_settings(STATE.config, home=STATE.home, **overrides)
    settings.export_env()
    return settings


def _announce_prefect() -> None:
    if not os.environ.get("PREFECT_API_URL"):
        typer.echo("starting Prefect's temporary API (set PREFECT_API_URL to use a running Prefect server) ...")


def _error_kinds() -> tuple[type[BaseException], ...]:
    """Exception types that are the user's input or environment, answered with exit code 2."""
    kinds: list[type[BaseException]] = []
    from flows.errors import FlowsError

    kinds.append(FlowsError)
    for module, names in (
        ("storage.errors", ("StorageError",)),
        ("auditors.errors", ("AuditorError",)),
        ("auditors.probes", ("ProbeSetError",)),
        ("auditors.demo", ("DemoModelMissingError",)),
        ("auditors.demo.train", ("TrainDemoError",)),
        ("flows.regression", ("RegressionError",)),
    ):
        try:
            imported = __import__(module, fromlist=list(names))
        except Exception:  # noqa: BLE001 - a layer that fails to import is reported when used
            continue
        kinds.extend(getattr(imported, n) for n in names if hasattr(imported, n))
    kinds.extend([FileNotFoundError, NotADirectoryError, PermissionError])
    return tuple(kinds)


def _fail(message: str, code: int) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _run_guarded(action: Any) -> Any:
    """Run a command body; map known errors to one line and an exit code."""
    try:
        return action()
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except BaseException as exc:  # noqa: BLE001 - translated into an exit code below
        if STATE.debug:
            traceback.print_exc()
        message = " ".join(str(exc).split()) or type(exc).__name__
        if isinstance(exc, _error_kinds()):
            _fail(message, EXIT_BAD_INPUT)
        _fail(f"internal error ({type(exc).__name__}): {message} (rerun with --debug for the traceback)", EXIT_INTERNAL)


def _print_outcome(outcome: Any, elapsed: float) -> int:
    typer.echo(f"audit run {outcome.run_id}: {outcome.model.source_uri} on probe set "
               f"{outcome.probe_set_name}@{outcome.probe_set_version} ({outcome.n_probes} probes, "
               f"{outcome.n_explained} explained now, {outcome.n_resumed} already stored) in {elapsed:.1f} s")
    if outcome.baseline_uri:
        typer.echo(f"baseline: {outcome.baseline_uri} (audit run {outcome.baseline_run_id})")
    typer.echo(f"report: {outcome.report_html}")
    colour = {"pass": typer.colors.GREEN, "warn": typer.colors.YELLOW, "fail": typer.colors.RED}.get(outcome.verdict)
    typer.secho(f"verdict: {outcome.verdict.upper()} - {outcome.reason}", fg=colour)
    for reason in outcome.reasons[1:6]:
        typer.echo(f"  - {reason}")
    return EXIT_REGRESSION if outcome.failed else EXIT_OK


def _check_inputs(model_uri: str | None, probes: Optional[Path], baseline: Optional[str] = None) -> None:
    """Cheap checks before Prefect starts (which takes seconds): malformed URIs, missing folders."""
    from flows.errors import FlowsInputError
    from flows.registry import parse_model_uri

    for uri in (model_uri, baseline):
        if uri:
            parse_model_uri(uri)
    if probes is not None and not (probes / "probes.jsonl").is_file():
        raise FlowsInputError(f"not a probe set folder (no probes.jsonl): {probes}")


def _methods(text: Optional[str]) -> Optional[list[str]]:
    if not text:
        return None
    return [m.strip() for m in text.split(",") if m.strip()]


def _task_runner(dask: Optional[str], settings: Any) -> Any:
    address = dask or settings.dask_address
    if not address:
        return None
    from flows.runners import dask_task_runner

    return dask_task_runner(address)


def _audit(task_runner: Any, **parameters: Any) -> Any:
    from flows.audit import audit_model_version
    from flows.errors import AuditRegressionError

    _announce_prefect()
    flow_fn = audit_model_version.with_options(task_runner=task_runner) if task_runner else audit_model_version
    try:
        return flow_fn(**parameters)
    except AuditRegressionError as exc:
        return exc.outcome


# ---- commands -----------------------------------------------------------------------------------


@app.command()
def demo(
    n_probes: int = typer.Option(200, "--n-probes", min=3, help="Probes in the default probe set."),
    batch_size: int = typer.Option(16, "--batch-size", min=1, help="Probes per Prefect task."),
    out: Optional[Path] = typer.Option(None, "--out", help="Report folder (default <home>/reports/run-N)."),
) -> None:
    """Register the embedded demo models, audit the shortcut version against the clean champion, write the report.

    Exits 0 whenever the demo ran, whatever the verdict. Rerunning reuses the registrations,
    the probe set and the stored runs (nothing is duplicated).
    """

    def body() -> int:
        started = time.perf_counter()
        settings = _settings()
        from auditors.demo import demo_model_dir

        from flows.defaults import default_probe_set_dir, ensure_default_probe_set
        from flows.registry import register_model

        typer.echo(f"data directory: {settings.home}")
        champion = register_model(demo_model_dir("clean"), DEMO_MODEL_NAME, alias="champion", settings=settings)
        candidate = register_model(demo_model_dir("shortcut"), DEMO_MODEL_NAME, alias="candidate", settings=settings)
        typer.echo(f"registered {champion.source_uri} as @champion (clean), {candidate.source_uri} as @candidate (shortcut)")
        probe_dir = default_probe_set_dir(settings, n_probes)
        if not (probe_dir / "probes.jsonl").is_file():
            typer.echo(f"building the default probe set ({n_probes} probes) in {probe_dir}")
        probe_dir = ensure_default_probe_set(settings, n_probes)
        outcome = _audit(
            None,
            model_uri=f"models:/{DEMO_MODEL_NAME}@candidate",
            probe_set=str(probe_dir),
            baseline_uri=f"models:/{DEMO_MODEL_NAME}@champion",
            db_url=settings.db_url,
            home=str(settings.home),
            out_dir=str(out) if out else None,
            batch_size=batch_size,
        )
        _print_outcome(outcome, time.perf_counter() - started)
        return EXIT_OK

    raise typer.Exit(_run_guarded(body))


@app.command()
def register(
    model_dir: Path = typer.Argument(..., help="Saved Hugging Face model folder (config.json + safetensors + processor)."),
    name: str = typer.Option(..., "--name", help="Registered model name."),
    alias: Optional[str] = typer.Option(None, "--alias", help="Point this alias (e.g. champion, candidate) at the version."),
    new_version: bool = typer.Option(False, "--new-version", help="Register even if these exact weights are already registered."),
) -> None:
    """Register a saved vision-language model folder as a new version of NAME in the MLflow registry."""

    def body() -> int:
        settings = _settings()
        from flows.registry import register_model

        resolved = register_model(model_dir, name, alias=alias, settings=settings, reuse_existing=not new_version)
        aliases = f" (aliases: {', '.join(resolved.aliases)})" if resolved.aliases else ""
        typer.echo(f"{resolved.source_uri}{aliases}")
        typer.echo(f"architecture {resolved.architecture}, weights sha256 {resolved.weights_hash}, "
                   f"registry {settings.effective_registry_uri}")
        return EXIT_OK

    raise typer.Exit(_run_guarded(body))


@app.command()
def audit(
    model_uri: str = typer.Argument(..., help="models:/NAME/VERSION or models:/NAME@ALIAS"),
    probes: Optional[Path] = typer.Option(None, "--probes", help="Probe set folder (probeset.yaml + probes.jsonl); default: the built-in default probe set."),
    baseline: Optional[str] = typer.Option(None, "--baseline", help="Baseline model URI (default: the model's @champion)."),
    methods: Optional[str] = typer.Option(None, "--methods", help="Comma-separated, e.g. tam,msea_arc."),
    db: Optional[str] = typer.Option(None, "--db", help="Database URL (default sqlite under the data directory)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Report folder."),
    batch_size: int = typer.Option(16, "--batch-size", min=1, help="Probes per Prefect task."),
    no_compare: bool = typer.Option(False, "--no-compare", help="Store and report without a baseline comparison."),
    dask: Optional[str] = typer.Option(None, "--dask", help="Run probe batches on Dask: scheduler address or 'local'."),
    webhook: Optional[str] = typer.Option(None, "--webhook", help="POST the verdict to this URL on warn/fail."),
) -> None:
    """Audit a registered model version on a probe set and compare it with its baseline (exit 1 on regression)."""

    def body() -> int:
        started = time.perf_counter()
        settings = _settings(db_url=db)
        _check_inputs(model_uri, probes, baseline)
        outcome = _audit(
            _task_runner(dask, settings),
            model_uri=model_uri, probe_set=str(probes) if probes else None, methods=_methods(methods), baseline_uri=baseline,
            db_url=settings.db_url, home=str(settings.home), out_dir=str(out) if out else None,
            batch_size=batch_size, compare=not no_compare, webhook_url=webhook,
        )
        return _print_outcome(outcome, time.perf_counter() - started)

    raise typer.Exit(_run_guarded(body))


@app.command()
def watch(
    name: str = typer.Argument(..., help="Registered model name."),
    probes: Optional[Path] = typer.Option(None, "--probes", help="Probe set folder; default: the built-in default probe set."),
    methods: Optional[str] = typer.Option(None, "--methods", help="Comma-separated methods."),
    db: Optional[str] = typer.Option(None, "--db", help="Database URL."),
    dask: Optional[str] = typer.Option(None, "--dask", help="Dask scheduler address or 'local'."),
) -> None:
    """Audit every version of NAME not audited yet against its @champion (exit 1 if any regressed)."""

    def body() -> int:
        settings = _settings(db_url=db)
        _check_inputs(None, probes)
        from flows.watch import WatchRegressionError, watch_registry

        _announce_prefect()
        runner = _task_runner(dask, settings)
        flow_fn = watch_registry.with_options(task_runner=runner) if runner else watch_registry
        try:
            result = flow_fn(name=name, probe_set=str(probes) if probes else None, methods=_methods(methods), db_url=settings.db_url,
                             home=str(settings.home))
        except WatchRegressionError as exc:
            result = exc.watch
        typer.echo(f"{name}: champion v{result.champion_version or '-'}; already audited: "
                   f"{', '.join(result.already_audited) or 'none'}")
        for outcome in result.audited:
            typer.echo(f"  v{outcome.model.version}: {outcome.verdict.upper()} - {outcome.reason} ({outcome.report_html})")
        if not result.audited:
            typer.echo("  nothing new to audit")
        return EXIT_REGRESSION if result.failed_versions else EXIT_OK

    raise typer.Exit(_run_guarded(body))


@app.command()
def explain(
    model: Path = typer.Option(..., "--model", help="Saved Hugging Face model folder."),
    image: Path = typer.Option(..., "--image", help="Image file."),
    prompt: str = typer.Option(..., "--prompt", help="Prompt text."),
    out: Path = typer.Option(..., "--out", help="Output folder (explanation.npz + .json, one PNG per token and method)."),
    methods: Optional[str] = typer.Option(None, "--methods", help="Comma-separated methods (default tam,msea_arc)."),
) -> None:
    """Explain one image and prompt with a local model folder (no registry, no database)."""

    def body() -> int:
        _settings()
        from auditors import explain as run_explain
        from auditors import load_pretrained

        from flows.explain_files import write_explanation

        if not image.is_file():
            raise FileNotFoundError(f"image not found: {image}")
        loaded_model, processor = load_pretrained(model)
        chosen = tuple(_methods(methods) or ("tam", "msea_arc"))
        explanation = run_explain(loaded_model, processor, image, prompt, methods=chosen)
        written = write_explanation(explanation, image, out)
        typer.echo(f"answer: {explanation.answer}")
        typer.echo(f"wrote {written.data_file} and {len(written.pngs)} PNG maps to {out}")
        return EXIT_OK

    raise typer.Exit(_run_guarded(body))


@probes_app.command("validate")
def probes_validate(folder: Path = typer.Argument(..., help="Probe set folder.")) -> None:
    """Validate a probe set folder (great-expectations suite + loader checks); exit 2 when invalid."""

    def body() -> int:
        _settings()
        from auditors.probes import validate_probe_set

        from flows.validation import validate_probe_manifest

        report = validate_probe_manifest(folder)
        problems = list(report.failures) + [str(p) for p in validate_probe_set(folder)]
        if problems:
            for problem in problems:
                typer.echo(f"  - {problem}", err=True)
            _fail(f"probe set {folder} is invalid ({len(problems)} problems)", EXIT_BAD_INPUT)
        typer.echo(f"probe set {folder} is valid: {report.n_rows} probes, {report.n_expectations} expectations met")
        return EXIT_OK

    raise typer.Exit(_run_guarded(body))


@probes_app.command("import-coco")
def probes_import_coco(
    instances: Path = typer.Option(..., "--instances", help="COCO instances JSON (boxes/segmentations)."),
    images: Path = typer.Option(..., "--images", help="Folder of the COCO images."),
    out: Path = typer.Option(..., "--out", help="Probe set folder to write."),
    captions: Optional[Path] = typer.Option(None, "--captions", help="COCO captions JSON (optional)."),
    name: str = typer.Option("coco", "--name", help="Probe set name."),
    version: str = typer.Option("1", "--version", help="Probe set version."),
    prompt: str = typer.Option("Describe the image.", "--prompt", help="Prompt of every probe."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Keep the first N images."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing probe set folder."),
) -> None:
    """Build a probe set (images, masks, probes.jsonl) from COCO-format annotation files."""

    def body() -> int:
        _settings()
        from auditors.probes.coco import import_coco

        probe_set = import_coco(instances, captions, images, out, name=name, version=version, prompt=prompt,
                                limit=limit, overwrite=overwrite)
        typer.echo(f"wrote probe set {probe_set.name}@{probe_set.version} ({len(probe_set.probes)} probes) to {out}")
        return EXIT_OK

    raise typer.Exit(_run_guarded(body))


@app.command()
def report(
    run_id: int = typer.Argument(..., help="Audit run id."),
    baseline_run: Optional[int] = typer.Option(None, "--baseline-run", help="Compare with this run (default: the stored comparison's)."),
    db: Optional[str] = typer.Option(None, "--db", help="Database URL."),
    out: Optional[Path] = typer.Option(None, "--out", help="Report folder (default <home>/reports/run-N)."),
) -> None:
    """Render the HTML report (and JSON summary) of a stored audit run."""

    def body() -> int:
        settings = _settings(db_url=db)
        from reports import build_report, load_report_data
        from storage.repository import AuditRepository

        repository = AuditRepository(settings.storage_url())
        data = load_report_data(repository, run_id, baseline_run)  # None: the latest stored comparison's
        paths = build_report(data, out or settings.reports_dir / f"run-{run_id}")
        typer.echo(f"report: {paths.html}")
        typer.echo(f"summary: {paths.json}")
        return EXIT_OK

    raise typer.Exit(_run_guarded(body))


@db_app.command("upgrade")
def db_upgrade(db: Optional[str] = typer.Option(None, "--db", help="Database URL.")) -> None:
    """Create or migrate the audit database to the current schema."""

    def body() -> int:
        settings = _settings(db_url=db)
        from storage.migrate import upgrade

        revision = upgrade(settings.storage_url())
        typer.echo(f"database at schema revision {revision}")
        return EXIT_OK

    raise typer.Exit(_run_guarded(body))


@app.command("train-demo")
def train_demo(
    out: Path = typer.Option(..., "--out", help="Folder for the trained model."),
    variant: str = typer.Option(
        "clean", "--variant",
        help="clean, shortcut (the shipped corner cue) or shortcut-<cue>: shortcut-bar, shortcut-glyph, shortcut-border."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Training seed (default: the shipped weights' seed)."),
    threads: Optional[int] = typer.Option(
        None, "--threads", min=1,
        help="torch threads for every stage (default: the recipe's per-stage counts, which reproduce the shipped "
             "weights bit for bit on the same kind of CPU; another count trains a different model)."),
    stage0_cache: Optional[Path] = typer.Option(
        None, "--stage0-cache",
        help="Folder keeping the variant-independent stage 0 of each seed, so the next variant loads it instead "
             "of training it again (same weights)."),
) -> None:
    """Train an embedded demo model variant from scratch (reproduces the shipped weights; slow)."""

    def body() -> int:
        _settings()
        from auditors.demo.train import reproduction_message
        from auditors.demo.train import train_demo as run_training

        kwargs: dict[str, Any] = {"variant": variant, "threads": threads, "stage0_cache": stage0_cache}
        if seed is not None:
            kwargs["seed"] = seed
        result = run_training(out, **kwargs)
        typer.echo(f"trained the {result.variant} demo model (seed {result.seed}, {len(result.stages)} stages) "
                   f"in {result.wall_s:.0f} s; saved to {result.out_dir}")
        typer.echo(reproduction_message(result.out_dir, result.variant, result.seed, threads))
        return EXIT_OK

    raise typer.Exit(_run_guarded(body))


def main() -> None:
    """Console-script entry point (`mllm-audit`)."""
    app()


if __name__ == "__main__":
    main()
