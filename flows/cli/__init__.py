"""The `mllm-audit` command line (`flows.cli.app`: the application, options and exit codes;
`flows.cli.guard`: the environment, settings and error wrapper every command shares; commands in
`audit_commands`, `model_commands`, `data_commands` and `compliance_commands`).

Heavy libraries (torch, transformers, MLflow, Prefect, great-expectations) are imported inside the
commands, so `--help` answers at once.
"""

from flows.cli import audit_commands, compliance_commands, data_commands, model_commands  # noqa: F401 - they register the commands
from flows.cli.app import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, EXIT_REGRESSION, app
from flows.cli.audit_commands import DEMO_MODEL_NAME

__all__ = ["DEMO_MODEL_NAME", "EXIT_BAD_INPUT", "EXIT_INTERNAL", "EXIT_OK", "EXIT_REGRESSION", "app", "main"]


def main() -> None:
    """Console-script entry point (`mllm-audit`). A command stopped by SIGTERM/SIGINT ends at once
    after its one line (`flows.stopping.exit_now`), not after seconds of interpreter teardown."""
    from flows.stopping import exit_now, stop_requested

    try:
        app()
    except SystemExit as exc:
        if stop_requested():
            exit_now(exc.code if isinstance(exc.code, int) else 128 + stop_requested())
        raise
