"""Count the patients a call has read back; remember the answers a call was given.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("patients_read_back", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("replies", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("turn", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("turn")
        batch.drop_column("replies")
        batch.drop_column("patients_read_back")
