"""Follow-up: the call-back tasks, the callers' voice messages, and what each contact led to.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.data.db import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_by_id", sa.Integer(), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("first_reminder_at", UTCDateTime(), nullable=True),
        sa.Column("second_reminder_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"]),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"]),
        sa.ForeignKeyConstraint(["claimed_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["closed_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("contact_id"),
    )
    op.create_index("ix_follow_ups_opened_at", "follow_ups", ["opened_at"])
    op.create_index(
        "ix_follow_ups_department_open", "follow_ups", ["department_id", "closed_at", "opened_at"]
    )
    op.create_table(
        "voice_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("recording_sid", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("audio_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("stored_at", UTCDateTime(), nullable=True),
        sa.Column("provider_deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("contact_id"),
        sa.UniqueConstraint("recording_sid"),
    )
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("result", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("result")
    op.drop_table("voice_messages")
    op.drop_index("ix_follow_ups_department_open", table_name="follow_ups")
    op.drop_index("ix_follow_ups_opened_at", table_name="follow_ups")
    op.drop_table("follow_ups")
