"""Regression checks: comparisons between a candidate and a baseline run, and alerts.

Revision ID: 0002_comparisons_alerts
Revises: 0001_audit_tables
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_comparisons_alerts"
down_revision = "0001_audit_tables"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "comparisons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("candidate_run_id", sa.Integer(), nullable=False),
        sa.Column("baseline_run_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("delta", sa.Float(), nullable=False),
        sa.Column("ci_low", sa.Float(), nullable=False),
        sa.Column("ci_high", sa.Float(), nullable=False),
        sa.Column("n_pairs", sa.Integer(), nullable=False),
        sa.Column("tolerance", sa.Float(), nullable=False),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_comparisons"),
        sa.ForeignKeyConstraint(
            ["candidate_run_id"],
            ["audit_runs.id"],
            name="fk_comparisons_candidate_run_id_audit_runs",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["baseline_run_id"], ["audit_runs.id"], name="fk_comparisons_baseline_run_id_audit_runs", ondelete="CASCADE"
        ),
        sa.UniqueConstraint(
            "candidate_run_id",
            "baseline_run_id",
            "method",
            "metric",
            name="uq_comparisons_candidate_run_id_baseline_run_id_method_metric",
        ),
    )
    op.create_index("ix_comparisons_candidate_run_id", "comparisons", ["candidate_run_id"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("channels", JSON, nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.ForeignKeyConstraint(["run_id"], ["audit_runs.id"], name="fk_alerts_run_id_audit_runs", ondelete="CASCADE"),
    )
    op.create_index("ix_alerts_run_id", "alerts", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_alerts_run_id", table_name="alerts")
    op.drop_table("alerts")
    op.drop_index("ix_comparisons_candidate_run_id", table_name="comparisons")
    op.drop_table("comparisons")
