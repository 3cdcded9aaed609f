"""What every command shares: a quiet offline environment, settings, and one error wrapper.

`@guarded` turns a command body that returns an exit code into one whose known errors become one
line on stderr and exit code 2 (the user's input or environment), anything else exit code 3, with
the traceback only under `--debug`. Heavy libraries are imported inside the commands, never here,
so `--help` answers at once.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import traceback
from typing import Any, Callable

import typer

from flows.cli.app import EXIT_BAD_INPUT, EXIT_INTERNAL, STATE
from flows.stopping import exit_code_for

QUIET_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    "TOKENIZERS_PARALLELISM": "false",
    "GIT_PYTHON_REFRESH": "quiet",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_LOGGING_LEVEL": "ERROR",
    # stdout carries only mllm-audit's own result lines: no "View run ..." links from MLflow
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}
# module, exception names: the other layers' "your input or environment" errors (exit code 2)
_INPUT_ERRORS = (
    ("flows.errors", ("FlowsError",)),
    ("storage.errors", ("StorageError",)),
    ("auditors.errors", ("AuditorError",)),
    ("auditors.probes", ("ProbeSetError",)),
    ("auditors.demo", ("DemoModelMissingError",)),
    ("auditors.demo.train", ("TrainDemoError",)),
    ("comparison.errors", ("ComparisonError",)),
    ("reports.options", ("ReportBuildError",)),  # an output folder that cannot be written
    ("reports.data", ("ReportInputError",)),  # runs that cannot be shown together (--baseline-run)
)


def prepare_environment() -> None:
    """Offline, telemetry off, quiet logs: set before the heavy libraries are imported."""
    for key, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    if not STATE.verbose:
        # Prefect's console lines (and its tracebacks of failed runs) stay off the terminal; the flow
        # and task logs still reach the Prefect API/UI, and the CLI prints its own one-line outcome.
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    for noisy in ("mlflow", "alembic", "great_expectations", "httpx", "transformers"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    # MLflow's SQL store logs every database error with its traceback (ERROR) before raising it;
    # the caller reports the failure in one line of its own (a registry error, a failed alert channel)
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)
    _show_http_retries()


def _show_http_retries() -> None:
    """One stderr line per HTTP retry of MLflow's client (urllib3 logs each at WARNING), so a slow
    or failing registry is visible while it is retried."""
    retries = logging.getLogger("urllib3.connectionpool")
    if not any(getattr(h, "_mllm_audit", False) for h in retries.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("registry request retried: %(message)s"))
        handler._mllm_audit = True  # type: ignore[attr-defined]
        retries.addHandler(handler)
        retries.propagate = False


def settings(**overrides: Any) -> Any:
    """The resolved settings (flags > environment > config file), exported for worker processes."""
    from flows.config import load_settings

    from storage.engine import check_database_url

    prepare_environment()
    resolved = load_settings(STATE.config, home=STATE.home, **overrides)
    if resolved.db_url:
        check_database_url(resolved.db_url)  # a typo is answered now, not after Prefect has started
    resolved.export_env()
    return resolved


def announce_prefect() -> None:
    """A status line on stderr (stdout holds only the command's results)."""
    if not os.environ.get("PREFECT_API_URL"):
        typer.echo("starting Prefect's temporary API (set PREFECT_API_URL to use a running Prefect server) ...",
                   err=True)


def input_error_kinds() -> tuple[type[BaseException], ...]:
    """Exception types that are the user's input or environment, answered with exit code 2."""
    kinds: list[type[BaseException]] = [FileNotFoundError, NotADirectoryError, PermissionError]
    for module, names in _INPUT_ERRORS:
        try:
            imported = __import__(module, fromlist=list(names))
        except Exception:  # noqa: BLE001 - a layer that fails to import is reported when used
            continue
        kinds.extend(getattr(imported, n) for n in names if hasattr(imported, n))
    return tuple(kinds)


def split_methods(text: str | None) -> tuple[str, ...]:
    """`--methods tam,msea_arc` as a tuple (no option: empty, the configured methods). An option that
    names no method (`--methods ","`) is bad input, not a silent fall-back to the configuration."""
    if text is None:
        return ()
    methods = tuple(m.strip() for m in text.split(",") if m.strip())
    if not methods:
        from flows.errors import FlowsInputError

        raise FlowsInputError(f"--methods {text!r} names no method (give e.g. --methods tam,msea_arc, "
                              "or leave the option out for the configured methods)")
    return methods


def usage_error_line(error: Any) -> str:
    """A click usage error (unknown option, missing or malformed argument) as one line naming the
    command and where its help is: `error: mllm-audit report: Invalid value for 'RUN_ID': ... (see
    mllm-audit report --help)`."""
    message = " ".join(str(error.format_message()).split())
    ctx = getattr(error, "ctx", None)
    if ctx is None:
        return f"error: {message}"
    return f"error: {ctx.command_path}: {message} (see {ctx.command_path} --help)"


def fail(message: str, code: int) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _stopped(signum: int) -> None:
    """One line and exit code 128 + signal (130 Ctrl-C, 143 SIGTERM): the database stays resumable."""
    name = signal.Signals(signum).name
    fail(f"stopped by {name}; an interrupted audit run is marked failed and resumes when the command is rerun",
         exit_code_for(signum))


def guarded(command: Callable[..., int]) -> Callable[..., None]:
    """Decorator: run the command body; its return value is the exit code, known errors are one
    line and exit code 2, a stop request (SIGTERM, SIGINT) exit code 128 + signal, anything else
    exit code 3 (see the module note)."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        from flows.stopping import stop_handlers

        with stop_handlers():
            _run_command(command, args, kwargs)

    return run


def _run_command(command: Callable[..., int], args: Any, kwargs: Any) -> None:
    """The command body, its outcome turned into an exit code (see `guarded`)."""
    from flows.stopping import stop_requested

    try:
        code = command(*args, **kwargs)
    except typer.Exit:
        raise
    except KeyboardInterrupt as exc:
        if STATE.debug:
            traceback.print_exc()
        _stopped(stop_requested() or getattr(exc, "signum", signal.SIGINT))
    except BaseException as exc:  # noqa: BLE001 - translated into an exit code below
        if STATE.debug:
            traceback.print_exc()
        if stop_requested():  # e.g. Prefect's TerminationSignal, or an error the stop caused
            _stopped(stop_requested())
        message = " ".join(str(exc).split()) or type(exc).__name__
        if isinstance(exc, input_error_kinds()):
            fail(message, EXIT_BAD_INPUT)
        fail(f"internal error ({type(exc).__name__}): {message} (rerun with --debug for the traceback)", EXIT_INTERNAL)
    if stop_requested():  # the signal landed where Prefect swallowed it (a flow run's teardown)
        _stopped(stop_requested())
    raise typer.Exit(code or 0)
