"""The contact export (interfaces.md, "Contact export"): one object per call, no CPR numbers."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.data.models import Contact
from app.services.contacts import ContactFilter, contact_conditions
from app.values.times import local_iso
from routing.agreement import DEFAULT_AGREEMENT

CSV_COLUMNS = (
    "call_sid",
    "started_at",
    "ended_at",
    "caller_number",
    "caller_organisation",
    "caller_kind",
    "department",
    "period",
    "route",
    "patient_ref",
    "dialled",
    "connected_to",
    "outcome",
    "follow_up",
    "test_call",
    # Added after the interface was fixed: appended, so readers by header or key go on working.
    "agreement",
)


# A cell a spreadsheet would run as a formula starts with one of these (OWASP, "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """Return a CSV cell that a spreadsheet shows as text, never runs: a leading quote where needed.

    A phone number in E.164 (`+4532501010`) and a plain negative number stay as they are.
    """
    if not value.startswith(FORMULA_START):
        return value
    if value[0] in "+-" and value[1:].isdigit():
        return value
    return "'" + value


def contact_record(contact: Contact) -> dict[str, Any]:
    """Return the export object of one contact."""
    return {
        "call_sid": contact.call_sid,
        "started_at": local_iso(contact.started_at),
        "ended_at": local_iso(contact.ended_at) if contact.ended_at else None,
        "caller_number": contact.caller_number,
        "caller_organisation": contact.caller_organisation,
        "caller_kind": contact.caller_kind,
        "department": contact.department.code if contact.department else None,
        "period": contact.period,
        "route": contact.route,
        "patient_ref": contact.patient_ref,
        "dialled": [{"number": a.number, "status": a.status} for a in contact.attempts],
        "connected_to": contact.connected_to,
        "outcome": contact.outcome,
        "follow_up": contact.follow_up,
        "test_call": contact.test_call,
        # The agreement the deciding department ran under at the call, kept when it moves later.
        "agreement": contact.agreement or DEFAULT_AGREEMENT,
    }


def contact_records(session: Session, since: datetime | None = None) -> Iterator[dict[str, Any]]:
    """Yield every contact's export object, oldest first, in batches."""
    query = (
        select(Contact)
        .options(selectinload(Contact.attempts), selectinload(Contact.department))
        .order_by(Contact.started_at, Contact.id)
    )
    if since is not None:
        query = query.where(Contact.started_at >= since)
    for contact in session.scalars(query.execution_options(yield_per=500)):
        yield contact_record(contact)


def contact_page(
    session: Session, wanted: ContactFilter, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Return a page of export objects, oldest first, and how many contacts match in all."""
    conditions = contact_conditions(session, wanted, None)
    total = session.scalar(select(func.count(Contact.id)).where(*conditions)) or 0
    query = (
        select(Contact)
        .where(*conditions)
        .options(selectinload(Contact.attempts), selectinload(Contact.department))
        .order_by(Contact.started_at, Contact.id)
        .limit(limit)
        .offset(offset)
    )
    return [contact_record(contact) for contact in session.scalars(query)], total


def write_contacts(session: Session, out: TextIO, fmt: str, since: datetime | None = None) -> int:
    """Write the export as a JSON array (one object a line) or CSV; return the count."""
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for record in contact_records(session, since):
            record["dialled"] = " ".join(f"{d['number']}:{d['status']}" for d in record["dialled"])
            record["follow_up"] = "yes" if record["follow_up"] else "no"
            record["test_call"] = "yes" if record["test_call"] else "no"
            writer.writerow({k: "" if v is None else spreadsheet_safe(str(v)) for k, v in record.items()})
            count += 1
        return count
    out.write("[")
    for record in contact_records(session, since):
        out.write(",\n" if count else "\n")
        out.write(json.dumps(record, ensure_ascii=False))
        count += 1
    out.write("\n]\n")
    return count
