"""The `mllm-audit` command line (`flows.cli.app`: the application, options and exit codes;
`flows.cli.guard`: the environment, settings and error wrapper every command shares; commands in
`audit_commands`, `model_commands`, `data_commands` and `compliance_commands`).

Heavy libraries (torch, transformers, MLflow, Prefect, great-expectations) are imported inside the
commands, so `--help` answers at once.
"""

import sys

import typer

from flows.cli import audit_commands, compliance_commands, data_commands, model_commands  # noqa: F401 - they register the commands
from flows.cli.app import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, EXIT_REGRESSION, app
from flows.cli.audit_commands import DEMO_MODEL_NAME

__all__ = ["DEMO_MODEL_NAME", "EXIT_BAD_INPUT", "EXIT_INTERNAL", "EXIT_OK", "EXIT_REGRESSION", "app", "main"]


def main(args: list[str] | None = None) -> None:
    """Console-script entry point (`mllm-audit`). A command stopped by SIGTERM/SIGINT ends at once
    after its one line (`flows.stopping.exit_now`), not after seconds of interpreter teardown.

    Why not standalone mode: click would print a usage error as a framed block of lines; a script
    reading stderr gets one line naming the problem, like every other bad input (`usage_error_line`).
    """
    from typer.exceptions import TyperException  # the base of typer's (vendored) click errors

    from flows.cli.guard import usage_error_line
    from flows.stopping import exit_code_for, exit_now, stop_requested

    try:
        code = app(args=args, prog_name="mllm-audit", standalone_mode=False)
    except TyperException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # `mllm-audit probes`: the group's help, as always
            if exc.format_message().strip():  # type: ignore[attr-defined] - rich help is printed already
                typer.echo(exc.format_message(), err=True)  # type: ignore[attr-defined]
        else:
            typer.secho(usage_error_line(exc), err=True, fg=typer.colors.RED)
        code = getattr(exc, "exit_code", EXIT_BAD_INPUT)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else EXIT_INTERNAL
    if stop_requested():
        exit_now(code if isinstance(code, int) else exit_code_for(stop_requested()))
    sys.exit(code if isinstance(code, int) else EXIT_OK)
