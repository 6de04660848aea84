"""Indexes for the contact log's filters (department, caller, number, outcome, route; newest first).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_contacts_department_started": ["department_id", "started_at"],
    "ix_contacts_caller_started": ["caller_id", "started_at"],
    "ix_contacts_number_started": ["caller_number", "started_at"],
    "ix_contacts_outcome_started": ["outcome", "started_at"],
    "ix_contacts_route_started": ["route", "started_at"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "contacts", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="contacts")
