"""Read the events of an iCalendar file (.ics): each occurrence of each VEVENT, with who and what number.

Recurrences (RRULE, RDATE, EXDATE, a moved occurrence by RECURRENCE-ID) and time
zones (VTIMEZONE, TZID) are expanded by `recurring-ical-events`, never by us. A
time without a zone (a floating time) is Copenhagen wall-clock time. An all-day
event (a date without a time) is not a shift. A series without end (an RRULE with
neither COUNT nor UNTIL) is read up to a horizon. A cancelled occurrence
(STATUS:CANCELLED) is left out.

Who: the ATTENDEE's CN, else the SUMMARY. The number: an ATTENDEE's `tel:` URI,
else the first phone number in LOCATION, else in DESCRIPTION.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import phonenumbers

from app.intake.table import Problems
from app.values.phones import REGION
from app.values.times import local_minute
from routing.calendar import COPENHAGEN

CALENDAR_MAGIC = b"BEGIN:VCALENDAR"
# More occurrences than a rota of one department and role could hold: a rule gone wrong.
MOST_OCCURRENCES = 20_000


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of an event, as the file gives it; `start` and `end` naive when floating."""

    uid: str
    place: str
    start: datetime
    end: datetime | None
    name: str | None
    phone: str | None
    problem: str | None = None


def read_events(data: bytes, problems: Problems, horizon: datetime) -> list[Occurrence] | None:
    """Return every occurrence in time order, series without end up to `horizon`; None when not a calendar."""
    calendar = _parse(data, problems)
    if calendar is None:
        return None
    events = list(calendar.walk("VEVENT"))
    if not events:
        problems.file("no events (VEVENT) in the calendar")
        return None
    endless: set[str] = set()
    kept: list[Any] = []
    for event in events:
        start = event.get("DTSTART")
        if start is None:
            problems.add(0, "start", "no DTSTART: an event without a start", place=_place(event, None))
        elif not isinstance(start.dt, datetime):
            problems.add(
                0,
                "start",
                "an all-day event, not a shift: give it a start and an end time",
                place=_place(event, start.dt),
            )
        else:
            kept.append(event)
            if _endless(event):
                endless.add(_uid(event))
    # Series without end are asked for a window; the rest for all their occurrences,
    # so that a finite series is read whole however far it reaches.
    finite = _calendar(calendar, [event for event in kept if _uid(event) not in endless])
    open_ended = _calendar(calendar, [event for event in kept if _uid(event) in endless])
    try:
        found = list(
            itertools.islice(
                itertools.chain(
                    _expand(finite, None),
                    _expand(open_ended, horizon.astimezone(COPENHAGEN).replace(tzinfo=None)),
                ),
                MOST_OCCURRENCES + 1,
            )
        )
    except Exception as exc:
        # recurring-ical-events raises its own errors for rules it cannot expand
        # (an UNTIL of another kind than DTSTART, a broken RRULE): one line for the file.
        problems.file(f"the calendar's recurrences cannot be expanded: {exc}")
        return None
    if len(found) > MOST_OCCURRENCES:
        problems.file(f"more than {MOST_OCCURRENCES} occurrences: split the calendar into smaller files")
        return None
    occurrences = [
        _occurrence(event) for event in found if str(event.get("STATUS", "")).upper() != "CANCELLED"
    ]
    occurrences.sort(key=lambda occurrence: (_instant(occurrence.start), occurrence.uid))
    for uid in sorted(endless):
        first = next((occurrence for occurrence in occurrences if occurrence.uid == uid), None)
        master = next(event for event in kept if _uid(event) == uid and event.get("RECURRENCE-ID") is None)
        problems.warn(
            0,
            "RRULE",
            f"repeats without end (no COUNT or UNTIL): read up to {local_minute(horizon)}; "
            "import the calendar again before then",
            place=_place(master, first.start if first else None, word="from"),
        )
    return occurrences


def _parse(data: bytes, problems: Problems) -> Any:
    """Return the VCALENDAR, or None with one line saying why the file is not one."""
    from icalendar import Calendar

    text = data.removeprefix(b"\xef\xbb\xbf")
    if not text.lstrip().upper().startswith(CALENDAR_MAGIC):
        problems.file("not an iCalendar file: it does not start with BEGIN:VCALENDAR")
        return None
    try:
        return Calendar.from_ical(text)
    # icalendar raises ValueError for most malformed content, but not only that: any
    # failure to parse means the same to the planner.
    except Exception as exc:
        problems.file(f"not a valid iCalendar file: {exc}")
        return None


def _cancelled(event: Any) -> bool:
    return str(event.get("STATUS", "")).upper() == "CANCELLED"


def _uid(event: Any) -> str:
    """Return the event's UID; events without one (against the standard) are told apart by summary."""
    return str(event.get("UID", "")) or f"no UID: {event.get('SUMMARY', '')}"


def _endless(event: Any) -> bool:
    rules = event.get("RRULE")
    if rules is None or event.get("RECURRENCE-ID") is not None:
        return False
    return any("COUNT" not in rule and "UNTIL" not in rule for rule in _listed(rules))


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _calendar(calendar: Any, events: Iterable[Any]) -> Any:
    """Return a calendar with `calendar`'s time zones and only `events`."""
    from icalendar import Calendar

    part = Calendar()
    for name, value in calendar.property_items(recursive=False):
        if name not in ("BEGIN", "END"):
            part.add(name, value)
    for timezone in calendar.walk("VTIMEZONE"):
        part.add_component(timezone)
    for event in events:
        part.add_component(event)
    return part


def _expand(calendar: Any, until: datetime | None) -> Iterable[Any]:
    import recurring_ical_events

    query = recurring_ical_events.of(calendar)
    # An early enough start: occurrences are generated from each event's own DTSTART.
    return query.all() if until is None else query.between(datetime(1900, 1, 1), until)


def _occurrence(event: Any) -> Occurrence:
    start: datetime = event["DTSTART"].dt
    end: datetime | None = None
    if event.get("DTEND") is not None:
        end = event["DTEND"].dt
    elif event.get("DURATION") is not None:
        end = start + event["DURATION"].dt
    name, phone, problem = _person(event)
    return Occurrence(_uid(event), _place(event, start), start, end, name, phone, problem)


def _person(event: Any) -> tuple[str | None, str | None, str | None]:
    """Return who is on duty, their number, and what is wrong when the attendees disagree."""
    attendees = _listed(event.get("ATTENDEE") or [])
    with_phone = [attendee for attendee in attendees if str(attendee).lower().startswith("tel:")]
    if len(with_phone) > 1:
        return None, None, "several attendees with a tel: number; a shift is one person's"
    chosen = with_phone[0] if with_phone else next((a for a in attendees if a.params.get("CN")), None)
    name = str(chosen.params.get("CN", "")) if chosen is not None else ""
    if not name.strip():
        name = str(event.get("SUMMARY", ""))
    phone = _tel(with_phone[0]) if with_phone else None
    if phone is None:
        phone = _phone_in(str(event.get("LOCATION", ""))) or _phone_in(str(event.get("DESCRIPTION", "")))
    return name, phone, None


def _tel(attendee: Any) -> str:
    """Return the number of a `tel:` URI, without its parameters (`tel:+4540101002;ext=12`)."""
    return str(attendee)[len("tel:") :].split(";", 1)[0]


def _phone_in(text: str) -> str | None:
    """Return the first phone number in free text, as written there."""
    # Only numbers in allocated ranges: in free text a looser match would take a staff
    # number or a date for a phone, and ring the wrong person about a patient.
    for match in phonenumbers.PhoneNumberMatcher(text, REGION):
        return str(match.raw_string)
    return None


def _place(event: Any, when: date | datetime | None, *, word: str = "on") -> str:
    """Return how a problem line names an event (and an occurrence of it)."""
    summary = " ".join(str(event.get("SUMMARY", "")).split()).replace('"', "'")
    if len(summary) > 60:
        summary = summary[:59] + "…"
    uid = str(event.get("UID", "")) or "no UID"
    text = f'event "{summary}" (UID {uid})'
    if isinstance(when, datetime):
        shown = local_minute(when) if when.tzinfo else when.strftime("%Y-%m-%d %H:%M")
        return f"{text} {word} {shown}"
    if isinstance(when, date):
        return f"{text} {word} {when.isoformat()}"
    return text


def _instant(moment: datetime) -> datetime:
    """Return a moment comparable with any other: a floating time as Copenhagen time."""
    return moment if moment.tzinfo else moment.replace(tzinfo=COPENHAGEN)
