"""Rota planners: drafts, published versions, overrides, calendar feeds, gap alerts and their messages.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.data.db import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(
        op.f("ix_calendar_feeds_department_id"), "calendar_feeds", ["department_id"], unique=False
    )
    op.create_table(
        "gap_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("start_at", UTCDateTime(), nullable=False),
        sa.Column("end_at", UTCDateTime(), nullable=False),
        sa.Column("found_at", UTCDateTime(), nullable=False),
        sa.Column("near_alert_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_gap_alerts_department_start", "gap_alerts", ["department_id", "start_at"], unique=False
    )
    op.create_table(
        "planner_phones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("mobile", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "uq_planner_phones_department_phone", "planner_phones", ["department_id", "phone"], unique=True
    )
    op.create_table(
        "rota_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("start_at", UTCDateTime(), nullable=False),
        sa.Column("end_at", UTCDateTime(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("replaces_name", sa.String(length=200), nullable=False),
        sa.Column("replaces_phone", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("ended_by", sa.String(length=254), nullable=True),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
        ),
        sa.ForeignKeyConstraint(
            ["previous_id"],
            ["rota_overrides.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_rota_overrides_department_end", "rota_overrides", ["department_id", "end_at"], unique=False
    )
    op.create_table(
        "rota_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_hash", sa.String(length=64), nullable=False),
        sa.Column("shifts", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("restored_from_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["restored_from_id"],
            ["rota_versions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_rota_versions_published_at"), "rota_versions", ["published_at"], unique=False)
    op.create_table(
        "outgoing_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("channel", sa.String(length=5), nullable=False),
        sa.Column("to_number", sa.String(length=20), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("body", sa.String(length=1000), nullable=False),
        sa.Column("provider_sid", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("status_at", UTCDateTime(), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("gap_alert_id", sa.Integer(), nullable=True),
        sa.Column("replaces_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["gap_alert_id"],
            ["gap_alerts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["replaces_id"],
            ["outgoing_messages.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider_sid"),
    )
    op.create_index(
        op.f("ix_outgoing_messages_created_at"), "outgoing_messages", ["created_at"], unique=False
    )
    op.create_table(
        "rota_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_hash", sa.String(length=64), nullable=False),
        sa.Column("records", sa.JSON(), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["rota_versions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_rota_drafts_user_id"), "rota_drafts", ["user_id"], unique=False)
    op.create_table(
        "rota_version_departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("period_start", UTCDateTime(), nullable=False),
        sa.Column("period_end", UTCDateTime(), nullable=False),
        sa.Column("shifts", sa.JSON(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["rota_versions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_rota_version_departments_department_id"),
        "rota_version_departments",
        ["department_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_rota_version_departments_version_id"),
        "rota_version_departments",
        ["version_id"],
        unique=False,
    )
    with op.batch_alter_table("shifts") as batch:
        batch.add_column(sa.Column("version_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_shifts_version_id", "rota_versions", ["version_id"], ["id"])


def downgrade() -> None:
    # WARNING: constraint name is None; this directive will fail as
    # rendered.  Add a name, or use a naming convention; see
    # https://alembic.sqlalchemy.org/en/latest/naming.html
    with op.batch_alter_table("shifts") as batch:
        batch.drop_constraint("fk_shifts_version_id", type_="foreignkey")
        batch.drop_column("version_id")
    op.drop_index(op.f("ix_rota_version_departments_version_id"), table_name="rota_version_departments")
    op.drop_index(op.f("ix_rota_version_departments_department_id"), table_name="rota_version_departments")
    op.drop_table("rota_version_departments")
    op.drop_index(op.f("ix_rota_drafts_user_id"), table_name="rota_drafts")
    op.drop_table("rota_drafts")
    op.drop_index(op.f("ix_outgoing_messages_created_at"), table_name="outgoing_messages")
    op.drop_table("outgoing_messages")
    op.drop_index(op.f("ix_rota_versions_published_at"), table_name="rota_versions")
    op.drop_table("rota_versions")
    op.drop_index("ix_rota_overrides_department_end", table_name="rota_overrides")
    op.drop_table("rota_overrides")
    op.drop_index("uq_planner_phones_department_phone", table_name="planner_phones")
    op.drop_table("planner_phones")
    op.drop_index("ix_gap_alerts_department_start", table_name="gap_alerts")
    op.drop_table("gap_alerts")
    op.drop_index(op.f("ix_calendar_feeds_department_id"), table_name="calendar_feeds")
    op.drop_table("calendar_feeds")
