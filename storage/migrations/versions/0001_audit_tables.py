"""Audit tables: model versions, probe sets, probes, runs, generations, token maps, metrics.

Revision ID: 0001_audit_tables
Revises:
Create Date: 2026-11-25

Column types are spelled out here rather than imported from `storage.models`: a migration is
frozen history and must not change when the models do.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001_audit_tables"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("source_uri", sa.Text(), nullable=False),
        sa.Column("weights_hash", sa.String(128), nullable=False),
        sa.Column("architecture", sa.String(255), nullable=False),
        sa.Column("mlflow_run_id", sa.String(64), nullable=True),
        sa.Column("aliases", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_model_versions"),
        sa.UniqueConstraint("name", "version", name="uq_model_versions_name_version"),
    )
    op.create_table(
        "probe_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("content_hash", sa.String(128), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("n_probes", sa.Integer(), nullable=False),
        sa.Column("root", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_probe_sets"),
        sa.UniqueConstraint("content_hash", name="uq_probe_sets_content_hash"),
    )
    op.create_table(
        "probes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("probe_set_id", sa.Integer(), nullable=False),
        sa.Column("probe_key", sa.String(255), nullable=False),
        sa.Column("image_path", sa.Text(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("object_words", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_probes"),
        sa.ForeignKeyConstraint(
            ["probe_set_id"], ["probe_sets.id"], name="fk_probes_probe_set_id_probe_sets", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("probe_set_id", "probe_key", name="uq_probes_probe_set_id_probe_key"),
    )
    op.create_table(
        "audit_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("probe_set_id", sa.Integer(), nullable=False),
        sa.Column("config_hash", sa.String(64), nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("package_versions", JSON, nullable=False),
        sa.Column("code_version", sa.String(255), nullable=False),
        sa.Column("timings", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("resume_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_runs"),
        sa.ForeignKeyConstraint(
            ["model_version_id"], ["model_versions.id"], name="fk_audit_runs_model_version_id_model_versions"
        ),
        sa.ForeignKeyConstraint(["probe_set_id"], ["probe_sets.id"], name="fk_audit_runs_probe_set_id_probe_sets"),
        sa.UniqueConstraint(
            "model_version_id",
            "probe_set_id",
            "config_hash",
            name="uq_audit_runs_model_version_id_probe_set_id_config_hash",
        ),
    )
    op.create_index("ix_audit_runs_model_version_id", "audit_runs", ["model_version_id"])
    op.create_index("ix_audit_runs_probe_set_id", "audit_runs", ["probe_set_id"])
    op.create_table(
        "generations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("probe_id", sa.Integer(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("token_ids", JSON, nullable=False),
        sa.Column("tokens", JSON, nullable=False),
        sa.Column("word_index", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_generations"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["audit_runs.id"], name="fk_generations_run_id_audit_runs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["probe_id"], ["probes.id"], name="fk_generations_probe_id_probes"),
        sa.UniqueConstraint("run_id", "probe_id", name="uq_generations_run_id_probe_id"),
    )
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
        sa.Column("mass_in_mask", sa.Float(), nullable=True),
        sa.Column("map_data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "probe_id", "token_index", "method", name="pk_token_attributions"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["audit_runs.id"], name="fk_token_attributions_run_id_audit_runs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["probe_id"], ["probes.id"], name="fk_token_attributions_probe_id_probes"),
    )
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("probe_id", sa.Integer(), nullable=True),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("word", sa.String(255), nullable=True),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("direction", sa.String(20), nullable=False),
        sa.Column("metric_version", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_metrics"),
        sa.ForeignKeyConstraint(["run_id"], ["audit_runs.id"], name="fk_metrics_run_id_audit_runs", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["probe_id"], ["probes.id"], name="fk_metrics_probe_id_probes"),
    )
    op.create_index(
        "uq_metrics_value",
        "metrics",
        ["run_id", sa.text("coalesce(probe_id, -1)"), "method", "metric", sa.text("coalesce(word, '')")],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_metrics_value", table_name="metrics")
    op.drop_table("metrics")
    op.drop_table("token_attributions")
    op.drop_table("generations")
    op.drop_index("ix_audit_runs_probe_set_id", table_name="audit_runs")
    op.drop_index("ix_audit_runs_model_version_id", table_name="audit_runs")
    op.drop_table("audit_runs")
    op.drop_table("probes")
    op.drop_table("probe_sets")
    op.drop_table("model_versions")
