"""Commands of compliance: `compliance models:/NAME` (the dossier), `compliance verify models:/NAME`
(the ledger, exit 1 at the first broken link) and `signoff models:/NAME/VERSION` (a decision).

`compliance` is a group whose default command is the dossier, so both `mllm-audit compliance
models:/NAME` and `mllm-audit compliance verify models:/NAME` read naturally.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from typer.core import TyperGroup

from flows.cli.app import EXIT_BAD_INPUT, EXIT_OK, EXIT_REGRESSION, app
from flows.cli.guard import fail, guarded, settings

DEFAULT_COMMAND = "dossier"


class _DefaultToDossier(TyperGroup):
    """A group that runs `dossier` when the first argument names no subcommand (a model URI)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


compliance_app = typer.Typer(
    cls=_DefaultToDossier, no_args_is_help=True,
    help="Compliance dossiers: `compliance models:/NAME` writes one (HTML, PDF, JSON); "
         "`compliance verify models:/NAME` checks the tamper-evident ledger.")
app.add_typer(compliance_app, name="compliance")


def _model_name(model_uri: str) -> str:
    from flows.registry import parse_model_name

    return parse_model_name(model_uri)


@compliance_app.command(DEFAULT_COMMAND)
@guarded
def dossier(
    model_uri: str = typer.Argument(..., help="models:/NAME (every version of the registered model)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for the dossier (default <home>/compliance/NAME)."),
    db: Optional[str] = typer.Option(None, "--db", help="Database URL."),
) -> int:
    """Write the model's compliance dossier: dossier.html, dossier.pdf and dossier.json."""
    resolved_settings = settings(db_url=db)
    from flows.compliance import write_dossier

    name = _model_name(model_uri)
    outcome = write_dossier(name, resolved_settings, out)
    typer.echo(f"dossier of {outcome.model_name}: {outcome.n_versions} versions, {outcome.n_audits} audits")
    if model_uri.strip().rstrip("/") != f"models:/{name}":  # a version or alias given: not a filter
        typer.echo(f"note: a dossier covers every version of {name}; {model_uri} selects nothing more")
    for path in (outcome.html, outcome.pdf, outcome.json):
        typer.echo(f"  {path} ({path.stat().st_size:,} bytes)")
    if outcome.chained_now:
        typer.echo(f"chained {outcome.chained_now} rows stored before the ledger existed (marked late)")
    typer.secho(outcome.chain_statement, fg=None if outcome.chain_intact else typer.colors.RED)
    return EXIT_OK


@compliance_app.command("verify")
@guarded
def verify(
    model_uri: str = typer.Argument(..., help="models:/NAME"),
    db: Optional[str] = typer.Option(None, "--db", help="Database URL."),
) -> int:
    """Recompute the model's ledger: exit 0 when intact, 1 naming the first broken link."""
    resolved_settings = settings(db_url=db)
    from flows.worker import repository_for

    repository = repository_for(resolved_settings.storage_url())
    report = repository.verify_chain(_model_name(model_uri))
    if report.n_entries == 0 and not report.unchained:  # a typo must not read as "verifies"
        fail(f"nothing of model {report.model_name!r} is stored in {repository.url}: no audit run, verdict or "
             "sign-off to verify", EXIT_BAD_INPUT)
    if report.broken is not None:
        typer.secho(report.sentence(), fg=typer.colors.RED, err=True)
        return EXIT_REGRESSION
    typer.echo(report.sentence())
    return EXIT_OK


@app.command()
@guarded
def signoff(
    model_uri: str = typer.Argument(..., help="models:/NAME/VERSION (or models:/NAME@ALIAS)."),
    reviewer: str = typer.Option(..., "--reviewer", help="Who decides."),
    decision: str = typer.Option(..., "--decision", help="approved or rejected."),
    note: str = typer.Option("", "--note", help="Why (required with --override)."),
    override: bool = typer.Option(False, "--override", help="Approve although the latest audit failed."),
    db: Optional[str] = typer.Option(None, "--db", help="Database URL."),
) -> int:
    """Record a reviewer's decision on a model version (stored, chained, tagged on the MLflow version)."""
    resolved_settings = settings(db_url=db)
    from flows.signoff import record_signoff

    outcome = record_signoff(model_uri, reviewer, decision, note, override, resolved_settings)
    s = outcome.record
    on = f"audit run {outcome.audit_run_id} ({(outcome.audit_verdict or 'no verdict').upper()})" \
        if outcome.audit_run_id else "no audit"
    typer.echo(f"{outcome.source_uri}: {s.decision}{' with override' if s.override else ''} by {s.reviewer} "
               f"on {on}; ledger head {outcome.ledger_head[:16]}")
    if outcome.tag_error:
        fail(f"the decision is stored, but the MLflow version could not be tagged: {outcome.tag_error}", EXIT_BAD_INPUT)
    return EXIT_OK
