"""Store the discharges the hospitals report in a file or a batch: one stay each, by the hospital's id.

They go through the same service as every other feed (`app.services.stays`), so a file
and a REST batch keep the same one model of the stay as HL7 and FHIR do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from app.intake.discharges import DischargeRecord
from app.intake.stays import EventKind, Source, StayEvent
from app.services.directory import Upserted
from app.services.stays import StayRefused, StayResult, apply_events
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


# Applied this many at a time: one look-up of the stored stays per thousand, and progress to show.
CHUNK = 1000


def apply_discharges(
    session: Session,
    vault: CprVault,
    records: Sequence[DischargeRecord],
    now: datetime,
    source: Source = Source.FILE,
    progress: Callable[[int, int], None] | None = None,
) -> StayResult:
    """Add or update discharges by their hospital id (flush only), each with its outcome.

    Raises StayRefused (its `index` the record's place in `records`); the caller rolls back,
    so nothing of the batch is stored.
    """
    total = StayResult()
    for start in range(0, len(records), CHUNK):
        try:
            done = apply_events(session, vault, discharge_events(records[start : start + CHUNK], source), now)
        except StayRefused as refused:
            if refused.index is not None:  # the record's place in the whole batch, not in the chunk
                refused.index += start
            raise
        total.added += done.added
        total.updated += done.updated
        total.unchanged += done.unchanged
        total.outcomes += done.outcomes
        if progress is not None:
            progress(start + len(records[start : start + CHUNK]), len(records))
    return total


def store_discharges(
    session: Session,
    vault: CprVault,
    records: Sequence[DischargeRecord],
    now: datetime,
    progress: Callable[[int, int], None] | None = None,
) -> Upserted:
    """Add or update discharges by their hospital id (flush only); an unknown department is a ValueError."""
    try:
        result = apply_discharges(session, vault, records, now, progress=progress)
    except StayRefused as refused:
        raise ValueError(str(refused)) from None
    return Upserted(result.count, result.added)
