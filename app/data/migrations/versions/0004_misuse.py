"""Security events and patient look-ups, for the misuse limits.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.data.db import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "security_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("caller_number", sa.String(length=40), nullable=True),
        sa.Column("caller_id", sa.Integer(), nullable=True),
        sa.Column("call_sid", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["caller_id"], ["callers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_security_events_at", "security_events", ["at"])
    op.create_index("ix_security_events_number_kind_at", "security_events", ["caller_number", "kind", "at"])
    op.create_table(
        "patient_lookups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("caller_id", sa.Integer(), nullable=True),
        sa.Column("patient_ref", sa.String(length=24), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["caller_id"], ["callers.id"]),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_patient_lookups_contact_id", "patient_lookups", ["contact_id"])
    op.create_index("ix_patient_lookups_caller_at", "patient_lookups", ["caller_id", "at"])
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("refusal", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("refusal")
    op.drop_table("patient_lookups")
    op.drop_table("security_events")
