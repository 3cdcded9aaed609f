"""Compliance: reviewers' sign-offs, the tamper-evident ledger, and what a dossier needs to say
about each version (registration time), probe set (source, licence) and run (report location).

Revision ID: 0004_compliance
Revises: 0003_verdicts
Create Date: 2026-12-02

No backfill: runs, verdicts and sign-offs stored before this revision have no ledger entry; the
ledger chains them at first use (`storage.ledger`), marked `late`, so a dossier can say they are
chained since then, not since they were stored. New columns are nullable: a version registered,
a probe set stored or a run reported before this revision simply does not know them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_compliance"
down_revision = "0003_verdicts"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("model_versions", sa.Column("registered_at", TS, nullable=True))
    op.add_column("probe_sets", sa.Column("source", sa.Text(), nullable=True))
    op.add_column("probe_sets", sa.Column("licence", sa.Text(), nullable=True))
    op.add_column("audit_runs", sa.Column("report_path", sa.Text(), nullable=True))
    op.create_table(
        "signoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("reviewer", sa.String(255), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("override", sa.Boolean(), nullable=False),
        sa.Column("audit_run_id", sa.Integer(), nullable=True),
        sa.Column("audit_verdict", sa.String(8), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_signoffs"),
        sa.ForeignKeyConstraint(
            ["model_version_id"], ["model_versions.id"], name="fk_signoffs_model_version_id_model_versions"
        ),
        sa.ForeignKeyConstraint(["audit_run_id"], ["audit_runs.id"], name="fk_signoffs_audit_run_id_audit_runs"),
    )
    op.create_index("ix_signoffs_model_version_id", "signoffs", ["model_version_id"])
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_name", sa.String(255), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reference", sa.Integer(), nullable=False),
        sa.Column("content", JSON, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("previous_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_entries"),
        sa.UniqueConstraint("model_name", "sequence", name="uq_ledger_entries_model_name_sequence"),
        sa.UniqueConstraint("kind", "reference", name="uq_ledger_entries_kind_reference"),
    )


def downgrade() -> None:
    """For completeness: `storage.migrate` offers no downgrades."""
    op.drop_table("ledger_entries")
    op.drop_index("ix_signoffs_model_version_id", table_name="signoffs")
    op.drop_table("signoffs")
    with op.batch_alter_table("audit_runs") as batch:
        batch.drop_column("report_path")
    with op.batch_alter_table("probe_sets") as batch:
        batch.drop_column("licence")
        batch.drop_column("source")
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_column("registered_at")
