"""A department's own calendar on top of its agreement's: extra closed days and half days.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("departments") as batch:
        batch.add_column(sa.Column("closed_days", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("half_days", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("departments") as batch:
        batch.drop_column("half_days")
        batch.drop_column("closed_days")
