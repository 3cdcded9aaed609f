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
import traceback
from typing import Any, Callable

import typer

from flows.cli.app import EXIT_BAD_INPUT, EXIT_INTERNAL, STATE

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


def settings(**overrides: Any) -> Any:
    """The resolved settings (flags > environment > config file), exported for worker processes."""
    from flows.config import load_settings

    prepare_environment()
    resolved = load_settings(STATE.config, home=STATE.home, **overrides)
    resolved.export_env()
    return resolved


def announce_prefect() -> None:
    if not os.environ.get("PREFECT_API_URL"):
        typer.echo("starting Prefect's temporary API (set PREFECT_API_URL to use a running Prefect server) ...")


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
    """`--methods tam,msea_arc` as a tuple (empty: the configured methods)."""
    return tuple(m.strip() for m in (text or "").split(",") if m.strip())


def fail(message: str, code: int) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def guarded(command: Callable[..., int]) -> Callable[..., None]:
    """Decorator: run the command body; its return value is the exit code, known errors are one
    line and exit code 2, anything else exit code 3 (see the module note)."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            code = command(*args, **kwargs)
        except typer.Exit:
            raise
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except BaseException as exc:  # noqa: BLE001 - translated into an exit code below
            if STATE.debug:
                traceback.print_exc()
            message = " ".join(str(exc).split()) or type(exc).__name__
            if isinstance(exc, input_error_kinds()):
                fail(message, EXIT_BAD_INPUT)
            fail(f"internal error ({type(exc).__name__}): {message} (rerun with --debug for the traceback)", EXIT_INTERNAL)
        raise typer.Exit(code or 0)

    return run
