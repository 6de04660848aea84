"""Store the discharges the hospitals report in a file or a batch: one stay each, by the hospital's id.

They go through the same service as every other feed (`app.services.stays`), so a file
and a REST batch keep the same one model of the stay as HL7 and FHIR do.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from app.intake.discharges import DischargeRecord
from app.intake.stays import EventKind, Source, StayEvent
from app.services.directory import Upserted
from app.services.stays import StayRefused, apply_events
from app.values.cpr import CprVault


def discharge_events(records: Sequence[DischargeRecord], source: Source = Source.FILE) -> list[StayEvent]:
    """The records as discharges of their stays (a target destination puts one in the target group)."""
    return [
        StayEvent(
            kind=EventKind.DISCHARGE,
            source=source,
            cpr=record.cpr,
            stay_id=record.external_id,
            at=record.discharged_at,
            department=record.department,
            admitted_at=record.admitted_at,
            discharged_at=record.discharged_at,
            destination=record.destination,
            municipality=record.municipality,
            gp_phone=record.gp_phone,
            responsibility_until=record.responsibility_until,
            place=f"discharge {record.external_id!r}",
            complete=True,
        )
        for record in records
    ]


def store_discharges(
    session: Session, vault: CprVault, records: Sequence[DischargeRecord], now: datetime
) -> Upserted:
    """Add or update discharges by their hospital id (flush only); an unknown department is a ValueError."""
    try:
        result = apply_events(session, vault, discharge_events(records), now)
    except StayRefused as refused:
        raise ValueError(str(refused)) from None
    return Upserted(result.count, result.added)
