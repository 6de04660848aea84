"""A caller's agreement: the greeting names the line as the caller's region does.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("callers") as batch:
        batch.add_column(sa.Column("agreement", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("callers") as batch:
        batch.drop_column("agreement")
