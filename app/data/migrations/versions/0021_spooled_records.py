"""The outage spool's drained records: a call's records are written into its contact once.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.data.db import UTCDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spooled_records",
        sa.Column("record_id", sa.String(32), nullable=False),
        sa.Column("call_sid", sa.String(64), nullable=False),
        sa.Column("spooled_at", UTCDateTime(), nullable=False),
        sa.Column("drained_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("record_id"),
    )
    op.create_index("ix_spooled_records_call_sid", "spooled_records", ["call_sid"])


def downgrade() -> None:
    op.drop_index("ix_spooled_records_call_sid", table_name="spooled_records")
    op.drop_table("spooled_records")
