"""The `mllm-audit` Typer application, its global options and exit codes.

Exit codes (scripts and CI jobs rely on them): 0 the command ran and nothing regressed; 1 an audit
found a regression (verdict fail); 2 bad input, usage or configuration, or a service that cannot be
used (one line naming the problem); 3 an unexpected internal error; 128 + the signal (130 Ctrl-C,
143 SIGTERM) when stopped (`flows.stopping`). `--debug` shows the traceback. stdout holds only each
command's result lines (README, "Output"); status lines, progress and errors go to stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

EXIT_OK = 0
EXIT_REGRESSION = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3

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
