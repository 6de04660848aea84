"""Retention: anonymous daily call statistics, and when each call was counted and thinned.

CPR ciphertexts carry their key's id inside the value (app.values.cpr), so key rotation
needs no column of its own.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.data.db import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_statistics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("route", sa.String(length=24), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("caller_kind", sa.String(length=20), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("follow_ups", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "uq_contact_statistics_bucket",
        "contact_statistics",
        ["day", "department", "period", "route", "outcome", "caller_kind"],
        unique=True,
    )
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("counted_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("purged_at", UTCDateTime(), nullable=True))
        batch.create_index("ix_contacts_counted_at", ["counted_at"])


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_index("ix_contacts_counted_at")
        batch.drop_column("purged_at")
        batch.drop_column("counted_at")
    op.drop_index("uq_contact_statistics_bucket", table_name="contact_statistics")
    op.drop_table("contact_statistics")
