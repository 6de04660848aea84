"""Regional agreements: each department may run under one (window, limits, numbers, calendar).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("line_name", sa.String(length=60), nullable=False),
        sa.Column("window_hours", sa.Integer(), nullable=False),
        sa.Column("min_age", sa.Integer(), nullable=True),
        sa.Column("municipalities", sa.JSON(), nullable=False),
        sa.Column("short_stay_hours", sa.Integer(), nullable=False),
        sa.Column("nursing_home_short_stays", sa.Boolean(), nullable=False),
        sa.Column("psychiatry", sa.Boolean(), nullable=False),
        sa.Column("after_hours_number", sa.String(length=20), nullable=False),
        sa.Column("fallback_number", sa.String(length=20), nullable=False),
        sa.Column("day_hours", sa.String(length=11), nullable=True),
        sa.Column("closed_days", sa.JSON(), nullable=False),
        sa.Column("half_days", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    with op.batch_alter_table("departments") as batch:
        batch.add_column(sa.Column("agreement", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("psychiatric", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("departments") as batch:
        batch.drop_column("psychiatric")
        batch.drop_column("agreement")
    op.drop_table("agreements")
