"""The verdict becomes a stored record (a `verdicts` table the comparisons belong to); probes
keep a thumbnail so a report can be rebuilt from the database alone; the token maps' unread
`mass_in_mask` column goes.

Revision ID: 0003_verdicts
Revises: 0002_comparisons_alerts
Create Date: 2026-11-27

Backfill: every (candidate run, baseline run) group of existing comparisons becomes one verdict
with settings {"legacy": true}: its verdict is the worst of the group (the rule reports used to
rebuild it with), its reasons those of the candidate run's latest alert about that baseline when
there is one, else one sentence per non-pass comparison built from its columns. Frozen history:
nothing here imports the application (the settings hash is spelled out as storage computes it).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_verdicts"
down_revision = "0002_comparisons_alerts"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)

LEGACY_SETTINGS = {"legacy": True}
LEGACY_RESULT = {"type": "mllm_audit.legacy_verdict", "version": 1}
_SEVERITY = {"pass": 0, "warn": 1, "fail": 2}


def upgrade() -> None:
    op.create_table(
        "verdicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("candidate_run_id", sa.Integer(), nullable=False),
        sa.Column("baseline_run_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("headline", sa.Text(), nullable=False),
        sa.Column("reasons", JSON, nullable=False),
        sa.Column("settings", JSON, nullable=False),
        sa.Column("settings_hash", sa.String(64), nullable=False),
        sa.Column("result", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_verdicts"),
        sa.ForeignKeyConstraint(
            ["candidate_run_id"], ["audit_runs.id"], name="fk_verdicts_candidate_run_id_audit_runs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["baseline_run_id"], ["audit_runs.id"], name="fk_verdicts_baseline_run_id_audit_runs", ondelete="CASCADE"
        ),
        sa.UniqueConstraint(
            "candidate_run_id",
            "baseline_run_id",
            "settings_hash",
            name="uq_verdicts_candidate_run_id_baseline_run_id_settings_hash",
        ),
    )
    op.add_column("comparisons", sa.Column("verdict_id", sa.Integer(), nullable=True))
    _backfill_legacy_verdicts(op.get_bind())
    with op.batch_alter_table("comparisons") as batch:
        batch.alter_column("verdict_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(
            "fk_comparisons_verdict_id_verdicts", "verdicts", ["verdict_id"], ["id"], ondelete="CASCADE"
        )
        batch.drop_constraint("uq_comparisons_candidate_run_id_baseline_run_id_method_metric", type_="unique")
        batch.create_unique_constraint("uq_comparisons_verdict_id_method_metric", ["verdict_id", "method", "metric"])
    op.add_column("probes", sa.Column("thumbnail", sa.LargeBinary(), nullable=True))
    _drop_mass_in_mask(op.get_bind())


def _drop_mass_in_mask(connection: sa.Connection) -> None:
    """Drop `token_attributions.mass_in_mask` (computed once, read by nothing).

    SQLite rebuilds the table (batch mode). PostgreSQL only marks a dropped column dead, and every
    row written afterwards still carries a null for it (a null bitmap in each map row), so an empty
    table, as in every fresh database, is created again without it instead.
    """
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("LOCK TABLE token_attributions IN ACCESS EXCLUSIVE MODE")
        if connection.exec_driver_sql("SELECT NOT EXISTS (SELECT 1 FROM token_attributions)").scalar_one():
            op.drop_table("token_attributions")
            _create_token_attributions()
            return
    with op.batch_alter_table("token_attributions") as batch:
        batch.drop_column("mass_in_mask")


def _create_token_attributions() -> None:
    """The table of 0001 without `mass_in_mask`."""
    op.create_table(
        "token_attributions",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("probe_id", sa.Integer(), nullable=False),
        sa.Column("token_index", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("grid_rows", sa.SmallInteger(), nullable=False),
        sa.Column("grid_cols", sa.SmallInteger(), nullable=False),
        sa.Column("peak_row", sa.SmallInteger(), nullable=True),
        sa.Column("peak_col", sa.SmallInteger(), nullable=True),
        sa.Column("map_data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "probe_id", "token_index", "method", name="pk_token_attributions"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["audit_runs.id"], name="fk_token_attributions_run_id_audit_runs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["probe_id"], ["probes.id"], name="fk_token_attributions_probe_id_probes"),
    )


def downgrade() -> None:
    """For completeness: `storage.migrate` offers no downgrades (a pair judged under two settings
    would break the old unique key)."""
    op.add_column("token_attributions", sa.Column("mass_in_mask", sa.Float(), nullable=True))
    with op.batch_alter_table("probes") as batch:
        batch.drop_column("thumbnail")
    with op.batch_alter_table("comparisons") as batch:
        batch.drop_constraint("uq_comparisons_verdict_id_method_metric", type_="unique")
        batch.drop_constraint("fk_comparisons_verdict_id_verdicts", type_="foreignkey")
        batch.drop_column("verdict_id")
        batch.create_unique_constraint(
            "uq_comparisons_candidate_run_id_baseline_run_id_method_metric",
            ["candidate_run_id", "baseline_run_id", "method", "metric"],
        )
    op.drop_table("verdicts")


# ---------------------------------------------------------------------- backfill
_comparisons = sa.table(
    "comparisons",
    sa.column("id", sa.Integer()),
    sa.column("verdict_id", sa.Integer()),
    sa.column("candidate_run_id", sa.Integer()),
    sa.column("baseline_run_id", sa.Integer()),
    sa.column("method", sa.String()),
    sa.column("metric", sa.String()),
    sa.column("delta", sa.Float()),
    sa.column("ci_low", sa.Float()),
    sa.column("ci_high", sa.Float()),
    sa.column("n_pairs", sa.Integer()),
    sa.column("tolerance", sa.Float()),
    sa.column("verdict", sa.String()),
    sa.column("created_at", TS),
)
_alerts = sa.table(
    "alerts", sa.column("id", sa.Integer()), sa.column("run_id", sa.Integer()), sa.column("payload", JSON),
    sa.column("created_at", TS),
)
_verdicts = sa.Table(  # a Table, not a light `table`: the insert must hand back the new primary key
    "verdicts",
    sa.MetaData(),
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("candidate_run_id", sa.Integer()),
    sa.Column("baseline_run_id", sa.Integer()),
    sa.Column("verdict", sa.String()),
    sa.Column("headline", sa.Text()),
    sa.Column("reasons", JSON),
    sa.Column("settings", JSON),
    sa.Column("settings_hash", sa.String()),
    sa.Column("result", JSON),
    sa.Column("created_at", TS),
)


def _settings_hash(settings: dict[str, Any]) -> str:
    """sha256 of the canonical JSON, as `storage.hashing.settings_hash` computes it."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sentence(row: Any) -> str:
    """One plain sentence from a comparison's columns (drift rows hold a similarity and its minimum)."""
    span = f"CI {row.ci_low:.3f} to {row.ci_high:.3f}, {row.n_pairs} pairs"
    if row.metric.startswith("map_drift_"):
        return f"{row.method} {row.metric}: {row.verdict.upper()}, map similarity {row.delta:.3f} ({span}; minimum {row.tolerance:.3f})."
    return f"{row.method} {row.metric}: {row.verdict.upper()}, change {row.delta:+.3f} ({span}; tolerance {row.tolerance:.3f})."


def _alert_reasons(connection: sa.Connection) -> dict[int, list[tuple[int | None, list[str]]]]:
    """run -> (baseline named in the payload or None, reasons) of its alerts with reasons, oldest first."""
    found: dict[int, list[tuple[int | None, list[str]]]] = defaultdict(list)
    rows = connection.execute(
        sa.select(_alerts.c.run_id, _alerts.c.payload).order_by(_alerts.c.created_at, _alerts.c.id)
    )
    for run_id, payload in rows:
        payload = payload if isinstance(payload, dict) else {}
        reasons = payload.get("reasons")
        if isinstance(reasons, list) and reasons and all(isinstance(r, str) for r in reasons):
            baseline = payload.get("baseline_run_id")
            found[run_id].append((baseline if isinstance(baseline, int) else None, list(reasons)))
    return found


def _reasons(rows: list[Any], alerts: list[tuple[int | None, list[str]]], baseline: int) -> list[str]:
    """The latest alert's reasons (when it is about this baseline or names none), else sentences."""
    about = [reasons for named, reasons in alerts if named in (None, baseline)]
    if about:
        return about[-1]
    flagged = sorted(
        (r for r in rows if r.verdict != "pass"), key=lambda r: (-_SEVERITY.get(r.verdict, 2), r.method, r.metric)
    )
    return [_sentence(r) for r in flagged]


def _backfill_legacy_verdicts(connection: sa.Connection) -> None:
    groups: dict[tuple[int, int], list[Any]] = defaultdict(list)
    for row in connection.execute(sa.select(_comparisons).order_by(_comparisons.c.id)):
        groups[(row.candidate_run_id, row.baseline_run_id)].append(row)
    if not groups:
        return
    alert_reasons = _alert_reasons(connection)
    for (candidate, baseline), rows in sorted(groups.items()):
        verdict = max((r.verdict for r in rows), key=lambda v: _SEVERITY.get(v, 2))
        reasons = _reasons(rows, alert_reasons.get(candidate, []), baseline)
        headline = reasons[0] if reasons else f"All {len(rows)} stored comparisons passed."
        inserted = connection.execute(
            sa.insert(_verdicts).values(
                candidate_run_id=candidate,
                baseline_run_id=baseline,
                verdict=verdict,
                headline=headline,
                reasons=reasons,
                settings=LEGACY_SETTINGS,
                settings_hash=_settings_hash(LEGACY_SETTINGS),
                result=LEGACY_RESULT,
                created_at=max(r.created_at for r in rows),
            )
        )
        connection.execute(
            sa.update(_comparisons)
            .where(_comparisons.c.candidate_run_id == candidate, _comparisons.c.baseline_run_id == baseline)
            .values(verdict_id=inserted.inserted_primary_key[0])
        )
