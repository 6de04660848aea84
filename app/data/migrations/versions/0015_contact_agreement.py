"""The agreement each contact's deciding department ran under at the time of the call.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("agreement", sa.String(length=16), nullable=True))
    # The contact log filters by agreement, newest first, as by route and outcome.
    op.create_index("ix_contacts_agreement_started", "contacts", ["agreement", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_contacts_agreement_started", table_name="contacts")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("agreement")
