"""Voice messages: the provider account each recording is in, and why copying it last failed.

The account comes with the provider's signed callback; the scheduler's retries (copy, then delete
at the provider) need it after the request has gone. The error names what failed, never a URL.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("voice_messages") as batch:
        batch.add_column(sa.Column("account_sid", sa.String(length=34), nullable=True))
        batch.add_column(sa.Column("error", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("voice_messages") as batch:
        batch.drop_column("error")
        batch.drop_column("account_sid")
