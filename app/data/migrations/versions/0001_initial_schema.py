"""Initial schema: departments, callers, discharges, shifts, contacts, dial attempts.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.data.db import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "callers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("code", sa.String(length=8), nullable=True),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
        sa.UniqueConstraint("phone"),
    )
    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("hospital", sa.String(length=200), nullable=False),
        sa.Column("day_phone", sa.String(length=20), nullable=False),
        sa.Column("oncall_phone", sa.String(length=20), nullable=True),
        sa.Column("switchboard_phone", sa.String(length=20), nullable=False),
        sa.Column("day_hours", sa.String(length=11), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "discharges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("cpr_lookup", sa.String(length=64), nullable=False),
        sa.Column("cpr_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("discharged_at", UTCDateTime(), nullable=False),
        sa.Column("admitted_at", UTCDateTime(), nullable=True),
        sa.Column("destination", sa.String(length=20), nullable=False),
        sa.Column("municipality", sa.String(length=100), nullable=True),
        sa.Column("gp_phone", sa.String(length=20), nullable=True),
        sa.Column("responsibility_until", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("external_id"),
    )
    with op.batch_alter_table("discharges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_discharges_cpr_lookup"), ["cpr_lookup"], unique=False)
        batch_op.create_index(batch_op.f("ix_discharges_department_id"), ["department_id"], unique=False)

    op.create_table(
        "shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("start_at", UTCDateTime(), nullable=False),
        sa.Column("end_at", UTCDateTime(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("shifts", schema=None) as batch_op:
        batch_op.create_index("ix_shifts_department_start", ["department_id", "start_at"], unique=False)

    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_sid", sa.String(length=64), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("caller_number", sa.String(length=40), nullable=False),
        sa.Column("caller_id", sa.Integer(), nullable=True),
        sa.Column("caller_organisation", sa.String(length=200), nullable=True),
        sa.Column("caller_kind", sa.String(length=20), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("patient_ref", sa.String(length=24), nullable=True),
        sa.Column("patient_cpr_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("patient_born", sa.Date(), nullable=True),
        sa.Column("discharge_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("period", sa.String(length=10), nullable=True),
        sa.Column("route", sa.String(length=24), nullable=True),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=True),
        sa.Column("connected_to", sa.String(length=20), nullable=True),
        sa.Column("follow_up", sa.Boolean(), nullable=False),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["caller_id"],
            ["callers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
        ),
        sa.ForeignKeyConstraint(
            ["discharge_id"],
            ["discharges.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("call_sid"),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_started_at"), ["started_at"], unique=False)

    op.create_table(
        "dial_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("label", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dial_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dial_attempts_contact_id"), ["contact_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dial_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dial_attempts_contact_id"))

    op.drop_table("dial_attempts")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_started_at"))

    op.drop_table("contacts")
    with op.batch_alter_table("shifts", schema=None) as batch_op:
        batch_op.drop_index("ix_shifts_department_start")

    op.drop_table("shifts")
    with op.batch_alter_table("discharges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_discharges_department_id"))
        batch_op.drop_index(batch_op.f("ix_discharges_cpr_lookup"))

    op.drop_table("discharges")
    op.drop_table("departments")
    op.drop_table("callers")
