"""Follow-up reminders: an outgoing SMS or call names the call-back task it reminds of.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outgoing_messages") as batch:
        batch.add_column(sa.Column("follow_up_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_outgoing_messages_follow_up_id", "follow_ups", ["follow_up_id"], ["id"])
        batch.create_index("ix_outgoing_messages_follow_up_id", ["follow_up_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outgoing_messages") as batch:
        batch.drop_index("ix_outgoing_messages_follow_up_id")
        batch.drop_constraint("fk_outgoing_messages_follow_up_id", type_="foreignkey")
        batch.drop_column("follow_up_id")
