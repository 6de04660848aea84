"""The patient's stay: admitted, on leave, discharged or cancelled; deaths and merged identities; SOR ids.

A discharge becomes one stay of a patient in hospital, kept up to date by every feed:
`discharged_at` and `destination` may be unknown while the patient is admitted. Existing
rows are discharged inpatient stays from the discharges file.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.data.db import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("discharges") as batch:
        batch.alter_column("discharged_at", existing_type=UTCDateTime(), nullable=True)
        batch.alter_column("destination", existing_type=sa.String(length=20), nullable=True)
        batch.add_column(
            sa.Column("status", sa.String(length=12), nullable=False, server_default="discharged")
        )
        batch.add_column(sa.Column("kind", sa.String(length=10), nullable=False, server_default="inpatient"))
        batch.add_column(sa.Column("target_group", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("source", sa.String(length=10), nullable=False, server_default="file"))
        batch.add_column(sa.Column("ended_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("ended_reason", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("updated_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("departments") as batch:
        batch.add_column(sa.Column("sor_ids", sa.String(length=500), nullable=True))
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cpr_lookup", sa.String(length=64), nullable=False),
        sa.Column("deceased_at", UTCDateTime(), nullable=True),
        sa.Column("merged_into", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cpr_lookup"),
    )
    op.create_table(
        "stay_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("message_id", sa.String(length=100), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_stay_messages_source_id", "stay_messages", ["source", "message_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_stay_messages_source_id", table_name="stay_messages")
    op.drop_table("stay_messages")
    op.drop_table("patients")
    with op.batch_alter_table("departments") as batch:
        batch.drop_column("sor_ids")
    with op.batch_alter_table("discharges") as batch:
        for column in ("updated_at", "ended_reason", "ended_at", "source", "target_group", "kind", "status"):
            batch.drop_column(column)
        batch.alter_column("destination", existing_type=sa.String(length=20), nullable=False)
        batch.alter_column("discharged_at", existing_type=UTCDateTime(), nullable=False)
