"""Nurse-first agreements and shared on-call pools: `agreements.nurse_first`, `departments.oncall_pool`.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agreements") as batch:
        batch.add_column(sa.Column("nurse_first", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("departments") as batch:
        batch.add_column(sa.Column("oncall_pool", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("departments") as batch:
        batch.drop_column("oncall_pool")
    with op.batch_alter_table("agreements") as batch:
        batch.drop_column("nurse_first")
