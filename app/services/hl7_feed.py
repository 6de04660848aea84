"""Take HL7 v2 ADT messages from the hospitals' EHR: read, apply to the stays, and say how it went.

One message is one transaction: its events are applied together or not at all, and the
acknowledgement says which (AA, AE with what is wrong, AR when it cannot be read). A
message applied before (the same MSH-10) is acknowledged again and changes nothing.
The session is the caller's: it commits after an AA and rolls back otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.config import FeedMappings
from app.intake.hl7v2 import (
    FIELDS,
    Ack,
    ErrorCode,
    FeedMaps,
    Hl7Problem,
    Reading,
    build_ack,
    read_adt,
    read_bytes,
)
from app.intake.rota import Progress
from app.intake.stays import StayEvent
from app.intake.table import Problems, plural
from app.services.feed_maps import feed_maps
from app.services.stays import StayRefused, StayResult, apply_events
from app.values.cpr import CprVault, redact


@dataclass(frozen=True)
class Receipt:
    """How one message went: for the sender (the ACK) and for our log (never a CPR number)."""

    message_id: str
    event: str  # the trigger event, e.g. A03 ('' when unreadable)
    code: Ack
    text: str  # what the ACK says, one line
    ack: str  # the whole acknowledgement message


def receive_message(
    session: Session,
    vault: CprVault,
    mappings: FeedMappings,
    payload: bytes,
    now: datetime,
    maps: FeedMaps | None = None,
) -> Receipt:
    """Read one message's bytes and apply its events (flush only); return the receipt with its ACK.

    `maps` are the code tables when the caller keeps them (a listener rebuilds them now and
    then); else they are read from the mapping file and the database for this message.
    """
    reading = read_bytes(payload, maps or feed_maps(session, mappings), now)
    if reading.ack is not Ack.ACCEPTED or not reading.events:
        return _receipt(reading, now)
    try:
        result = apply_events(session, vault, reading.events, now)
    except StayRefused as exc:
        return _receipt(reading, now, Ack.ERROR, [_refusal(reading, exc)])
    note = "already applied: nothing changed" if result.repeated else "applied"
    return _receipt(reading, now, note=note)


def failed_message(payload: bytes, now: datetime) -> Receipt:
    """Return the AE for a message that an error of ours kept from being applied: the sender resends it."""
    reading = read_bytes(payload, FeedMaps({}, {}, set()), now)
    problem = Hl7Problem(
        "", "not applied: an error on the receiving side (logged there); send it again", ErrorCode.INTERNAL
    )
    return _receipt(reading, now, Ack.REJECTED if reading.rejected else Ack.ERROR, [problem])


def _refusal(reading: Reading, exc: StayRefused) -> Hl7Problem:
    """The service names the message first (`message MSG1: …`); the sender knows which message it sent."""
    if exc.field in FIELDS:  # a field the message left out: ERR-2 points at it
        where, hint = FIELDS[exc.field]
        return Hl7Problem(where, redact(f"{exc.reason} ({hint})"), ErrorCode.REQUIRED)
    text = str(exc)
    prefix = f"message {reading.message_id}: "
    return Hl7Problem("", redact(text.removeprefix(prefix)), ErrorCode.UNKNOWN_KEY)


def _receipt(
    reading: Reading,
    now: datetime,
    code: Ack | None = None,
    problems: list[Hl7Problem] | None = None,
    note: str = "",
) -> Receipt:
    if note:
        reading.note = reading.note or note
    found = reading.problems if problems is None else problems
    code = code or reading.ack
    ack = build_ack(reading, now, code=code, problems=found)
    text = "; ".join(problem.line() for problem in found) or reading.note
    event = reading.header.event if reading.header else ""
    return Receipt(reading.message_id, event, code, text, ack)


def import_messages(
    session: Session,
    vault: CprVault,
    mappings: FeedMappings,
    text: str,
    problems: Problems,
    now: datetime,
    progress: Progress | None = None,
) -> str | None:
    """Apply every message of a file in one transaction (flush only); None with the problems otherwise.

    Each message is applied as the listener applies it, so that one sent before (by MLLP,
    or in an earlier file) changes nothing again, whatever else the file holds.
    """
    events = read_adt(text, feed_maps(session, mappings), problems, now, progress=progress)
    if problems:
        return None
    by_message: dict[str, list[StayEvent]] = {}
    for event in events:
        by_message.setdefault(event.message_id, []).append(event)
    total, repeated = StayResult(), 0
    for message_events in by_message.values():
        try:
            result = apply_events(session, vault, message_events, now)
        except StayRefused as exc:
            # The service names the message (`message MSG1: …`), as the file's lines do.
            problems.file(str(exc))
            return None
        repeated += result.repeated
        total.added, total.updated = total.added + result.added, total.updated + result.updated
        total.unchanged += result.unchanged
    return (
        f"{plural(len(by_message), 'message')} with {plural(len(events), 'event')}: "
        f"{total.added} stays added, {total.updated} updated, {total.unchanged} unchanged"
        + (f"; {repeated} applied before changed nothing" if repeated else "")
    )
