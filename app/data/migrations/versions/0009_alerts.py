"""Gap warnings: each check of the rota's gaps ahead, so a poll can tell a changed rota.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.data.db import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gap_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checked_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.String(length=10), nullable=False),
        sa.Column("marker", sa.String(length=64), nullable=False),
        sa.Column("horizon_end", UTCDateTime(), nullable=False),
        sa.Column("gaps", sa.Integer(), nullable=False),
        sa.Column("new", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_gap_checks_checked_at"), "gap_checks", ["checked_at"], unique=False)
    # The status callbacks and the console look messages up by their alert.
    op.create_index(
        op.f("ix_outgoing_messages_gap_alert_id"), "outgoing_messages", ["gap_alert_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_outgoing_messages_gap_alert_id"), table_name="outgoing_messages")
    op.drop_index(op.f("ix_gap_checks_checked_at"), table_name="gap_checks")
    op.drop_table("gap_checks")
