"""Statistics for the region's dashboard: the patient's municipality and the department's agreement
as dimensions, time to answer and follow-up time as measures, when a call was answered, and the
health councils (sundhedsråd) that group municipalities.

Calls already counted keep their rows, with municipality and agreement "" and no answer or
follow-up figures (what they would need is gone once a call is thinned). `answered_at` is filled
in from the attempt that took each call, for the calls not counted yet.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.data.db import UTCDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

OLD_BUCKET = ["day", "department", "period", "route", "outcome", "caller_kind"]
MEASURES = (
    "answered",
    "answer_seconds",
    "answered_30",
    "answered_60",
    "answered_90",
    "answered_120",
    "answered_180",
    "answered_later",
    "follow_ups_closed",
    "follow_up_seconds",
)


def upgrade() -> None:
    op.drop_index("uq_contact_statistics_bucket", table_name="contact_statistics")
    with op.batch_alter_table("contact_statistics") as batch:
        batch.add_column(sa.Column("municipality", sa.String(length=100), nullable=False, server_default=""))
        batch.add_column(sa.Column("agreement", sa.String(length=16), nullable=False, server_default=""))
        for name in MEASURES:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    # The defaults were for the rows already there; the application always writes every column.
    with op.batch_alter_table("contact_statistics") as batch:
        batch.alter_column("municipality", server_default=None)
        batch.alter_column("agreement", server_default=None)
        for name in MEASURES:
            batch.alter_column(name, server_default=None)
    op.create_index(
        "uq_contact_statistics_bucket",
        "contact_statistics",
        [*OLD_BUCKET, "municipality", "agreement"],
        unique=True,
    )
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("answered_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("statistic_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_contacts_statistic_id", "contact_statistics", ["statistic_id"], ["id"])
    with op.batch_alter_table("follow_ups") as batch:
        batch.add_column(sa.Column("counted_at", UTCDateTime(), nullable=True))
    op.execute(
        "UPDATE contacts SET answered_at = (SELECT min(a.ended_at) FROM dial_attempts a"
        " WHERE a.contact_id = contacts.id AND a.status IN ('accepted', 'answered'))"
        " WHERE counted_at IS NULL AND outcome IN ('connected', 'forwarded')"
    )
    op.create_table(
        "health_councils",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality", sa.String(length=100), nullable=False),
        sa.Column("council", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("municipality"),
    )
    op.create_index("ix_health_councils_council", "health_councils", ["council"])


def downgrade() -> None:
    op.drop_index("ix_health_councils_council", table_name="health_councils")
    op.drop_table("health_councils")
    with op.batch_alter_table("follow_ups") as batch:
        batch.drop_column("counted_at")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_constraint("fk_contacts_statistic_id", type_="foreignkey")
        batch.drop_column("statistic_id")
        batch.drop_column("answered_at")
    op.drop_index("uq_contact_statistics_bucket", table_name="contact_statistics")
    with op.batch_alter_table("contact_statistics") as batch:
        for name in reversed(MEASURES):
            batch.drop_column(name)
        batch.drop_column("agreement")
        batch.drop_column("municipality")
    op.create_index("uq_contact_statistics_bucket", "contact_statistics", OLD_BUCKET, unique=True)
