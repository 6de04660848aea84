"""Read HL7 v2 ADT messages (Epic's admissions, discharges, transfers) into `StayEvent`s.

Pure: the `hl7` package splits a message into segments and fields; this module reads
the fields the product needs, maps the hospital's codes to ours (`FeedMaps`), and says
precisely what is wrong, by the message's id (MSH-10) and the field (`PV1-45`), never
quoting a CPR number. What is read where is in docs/hl7.md; in short:

- MSH-9 the event (ADT^A03), MSH-10 the message's id; EVN-6 when it happened.
- PID-3 the CPR number: the repetition whose assigning authority (CX-4) is `CPR` or
  the CPR register's OID 1.2.208.176.1.2, or whose identifier type (CX-5) is `NNDNK`
  (HL7 table 0203: Denmark's national person identifier). Replacement numbers accepted.
- PV1-19 the stay's id (the visit number), required: it ties the events of a stay
  together. Only a merge (A40), which concerns the patient, may come without it.
- PV1-3's point of care (PV1-3.1) the department, else PV1-10 (hospital service).
- PV1-44 admitted, PV1-45 discharged; PV1-36 the discharge disposition.
- PID-11.9 (the address's county/parish code) the patient's home municipality, by name as
  the agreements list it (`Køge`), read with a discharge (A03) and an update (A08).
- Times are HL7 TS (YYYYMMDDHHMM[SS[.S…]][+/-ZZZZ]), at least to the minute; without an
  offset Copenhagen wall-clock time, refused when a daylight-saving change skips or
  repeats it.

An ADT event the product does not use (A05, A28, A31, …) is read as nothing to do:
it is acknowledged with a note, so that the hospital's interface queue does not stop
at it. A message that is not ADT, or cannot be split at all, is rejected (`AR`).
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import hl7

from app.intake.stays import EventKind, Source, StayEvent
from app.intake.table import Problems, plural
from app.values.cpr import CprError, check_feed_cpr, shown
from app.values.times import TimeError, from_copenhagen
from routing import local_date
from routing.calendar import COPENHAGEN
from routing.decision import DESTINATIONS, TARGET_DESTINATIONS

# The events read, and what each becomes. A01 is told apart by its patient class (PV1-2).
EVENTS: dict[str, EventKind] = {
    "A01": EventKind.ADMIT,
    "A02": EventKind.TRANSFER,
    "A03": EventKind.DISCHARGE,
    "A04": EventKind.OUTPATIENT,
    "A08": EventKind.UPDATE,
    "A11": EventKind.CANCEL,
    "A13": EventKind.CANCEL,
    "A21": EventKind.LEAVE_START,
    "A22": EventKind.LEAVE_END,
    "A40": EventKind.MERGE,
}
CANCELS = {"A11": EventKind.ADMIT, "A13": EventKind.DISCHARGE}
PATIENT_CLASSES = {"I": EventKind.ADMIT, "E": EventKind.EMERGENCY, "O": EventKind.OUTPATIENT}
CPR_AUTHORITIES = frozenset({"CPR", "1.2.208.176.1.2"})
CPR_IDENTIFIER_TYPES = frozenset({"NNDNK"})
# A sender's clock may run a little ahead of ours; a discharge further ahead is a mistake.
CLOCK_SKEW = timedelta(minutes=5)
HL7_TIME = re.compile(
    r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(?:(\d{2})(?:\.(\d{1,4}))?)?(?:([+-])(\d{2})(\d{2}))?"
)
# HL7's explicit null: "the sender has no value", read as an empty field.
HL7_NULL = '""'
# How long a value this module quotes in an error may be (a runaway field is not echoed whole).
QUOTE_LENGTH = 40


# Where a message gives the facts the stays service may refuse, by the discharges file's names.
FIELDS = {"municipality": ("PID-11", "PID-11.9, the address's county/parish code, names it")}
MUNICIPALITY_COMPONENT = 9  # XAD-9 county/parish code: the municipality (kommune)


class Ack(enum.StrEnum):
    """The acknowledgement code (MSA-1, HL7 table 0008)."""

    ACCEPTED = "AA"  # applied (or nothing to do)
    ERROR = "AE"  # read, but cannot be applied: the sender must correct or resend it
    REJECTED = "AR"  # cannot be read at all (not HL7, not ADT, no MSH-10)


class ErrorCode(enum.StrEnum):
    """Why (ERR-3, HL7 table 0357)."""

    SEGMENT = "100"  # segment sequence error: a required segment missing
    REQUIRED = "101"  # required field missing
    DATA_TYPE = "102"  # data type error: not a time, not a CPR number
    TABLE_VALUE = "103"  # table value not found: a code the mapping file does not have
    UNKNOWN_KEY = "204"  # unknown key identifier: e.g. a cancel of a stay never reported
    UNSUPPORTED_TYPE = "200"  # unsupported message type
    INTERNAL = "207"  # application internal error: ours, resend later


ERROR_NAMES = {
    ErrorCode.SEGMENT: "Segment sequence error",
    ErrorCode.REQUIRED: "Required field missing",
    ErrorCode.DATA_TYPE: "Data type error",
    ErrorCode.TABLE_VALUE: "Table value not found",
    ErrorCode.UNKNOWN_KEY: "Unknown key identifier",
    ErrorCode.UNSUPPORTED_TYPE: "Unsupported message type",
    ErrorCode.INTERNAL: "Application internal error",
}


@dataclass(frozen=True)
class FeedMaps:
    """The hospital system's department and disposition codes, and ours.

    Our own department codes (`own_departments`, those in the database) and destination
    names map to themselves, so that a feed can be tried without a mapping file.
    """

    departments: dict[str, str]
    dispositions: dict[str, str]
    own_departments: set[str]


@dataclass(frozen=True)
class Hl7Problem:
    """What is wrong with a message: where (`PV1-45`, or a segment `PV1`), what, and its HL7 code."""

    where: str
    text: str
    code: ErrorCode = ErrorCode.REQUIRED

    def line(self) -> str:
        return f"{self.where}: {self.text}" if self.where else self.text


@dataclass(frozen=True)
class Header:
    """The MSH fields an acknowledgement echoes."""

    sending_application: str = ""
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    event: str = ""  # the trigger event, e.g. A03
    processing_id: str = "P"
    version: str = "2.5"


@dataclass
class Reading:
    """One message read: its id and header for the acknowledgement, its events, or what is wrong."""

    message_id: str = ""
    header: Header | None = None
    events: list[StayEvent] = field(default_factory=list)
    problems: list[Hl7Problem] = field(default_factory=list)
    rejected: bool = False
    note: str = ""  # said with an AA that changes nothing (an event the product does not use)

    @property
    def ack(self) -> Ack:
        if self.rejected:
            return Ack.REJECTED
        return Ack.ERROR if self.problems else Ack.ACCEPTED

    def __repr__(self) -> str:  # the events hold CPR numbers: never in a traceback or a log
        return f"Reading({self.message_id!r}, {self.ack}, {plural(len(self.events), 'event')})"


def normalise(text: str) -> str:
    """Return a message with its segments separated by carriage returns (`\\r\\n` and `\\n` accepted)."""
    return text.replace("\r\n", "\r").replace("\n", "\r")


def split_messages(text: str) -> list[str]:
    """Return the messages of a file: MLLP-framed, or each starting at an MSH segment.

    Blank lines between messages and batch envelopes (FHS, BHS, BTS, FTS) are left out.
    Lines before the first MSH are kept as a message of their own, which is then rejected.
    """
    flat = normalise(text.replace("\x0b", "\r").replace("\x1c", "\r"))
    messages: list[list[str]] = []
    for line in flat.split("\r"):
        if not line.strip() or line[:3] in ("FHS", "BHS", "BTS", "FTS"):
            continue
        if line.startswith("MSH") or not messages:
            messages.append([line])
        else:
            messages[-1].append(line)
    return ["\r".join(lines) for lines in messages]


def read_adt(
    text: str,
    maps: FeedMaps,
    problems: Problems,
    now: datetime,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> list[StayEvent]:
    """Return the events of every message in `text`; each problem goes to `problems` by message and field.

    A line is `FILE: message MSH-10: PV1-45: what is wrong`; a message without an id is
    named by its place in the file (`message 3 (no MSH-10)`). Messages with events the
    product does not use give a warning line. Two messages with the same MSH-10 are an error.
    """
    events: list[StayEvent] = []
    seen: dict[str, int] = {}
    messages = split_messages(text)
    for number, message in enumerate(messages, start=1):
        if progress is not None:
            progress(number, len(messages))
        reading = read_message(message, maps, now)
        place = f"message {reading.message_id}" if reading.message_id else f"message {number} (no MSH-10)"
        for problem in reading.problems:
            problems.add(number, problem.where, problem.text, place=place)
        if reading.message_id in seen:
            problems.add(
                number,
                "MSH-10",
                f"the same id as message {seen[reading.message_id]} of the file: each message needs its own",
                place=place,
            )
        elif reading.message_id:
            seen[reading.message_id] = number
        if reading.note:
            problems.warn(number, "MSH-9", reading.note, place=place)
        events += reading.events
    return events


def read_bytes(payload: bytes, maps: FeedMaps, now: datetime) -> Reading:
    """Read one message as it came over the wire: UTF-8, or Latin-1 when MSH-18 says 8859/1."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        first = payload.split(b"\r", 1)[0].split(b"\n", 1)[0]
        if b"8859/1" not in first:
            text = payload.decode("utf-8", errors="replace")
            reading = Reading(message_id=_guess_id(normalise(text)))
            return _reject(reading, "MSH-18", "not UTF-8 text, and MSH-18 does not declare 8859/1 (Latin-1)")
        text = payload.decode("latin-1")
    return read_message(text, maps, now)


def read_message(text: str, maps: FeedMaps, now: datetime) -> Reading:
    """Read one ADT message: its events, or what is wrong with it (nothing of it is then kept)."""
    text = normalise(text).strip("\r\n\x0b\x1c")
    reading = Reading(message_id=_guess_id(text))
    if not text.startswith("MSH") or len(text) < 8:
        return _reject(reading, "MSH", "not an HL7 v2 message: it must start with an MSH segment")
    try:
        message = hl7.parse(text)
    except (hl7.HL7Exception, IndexError, ValueError, KeyError, AssertionError):
        return _reject(reading, "MSH", "not an HL7 v2 message: its segments and fields cannot be split")
    read = _Message(message, reading)
    msh = message.segment("MSH")
    kind, event = read.value(msh, "MSH", 9, 1), read.value(msh, "MSH", 9, 2)
    reading.message_id = read.value(msh, "MSH", 10)
    reading.header = Header(
        sending_application=read.raw(msh, 3),
        sending_facility=read.raw(msh, 4),
        receiving_application=read.raw(msh, 5),
        receiving_facility=read.raw(msh, 6),
        event=event,
        processing_id=read.raw(msh, 11) or "P",
        version=read.raw(msh, 12) or "2.5",
    )
    if not reading.message_id:
        return _reject(
            reading,
            "MSH-10",
            "the message control id is required (the acknowledgement names it)",
            ErrorCode.REQUIRED,
        )
    if kind != "ADT":
        return _reject(
            reading,
            "MSH-9",
            f"message type {_quote(kind or '(none)')} is not read here: Linje 72 reads ADT messages",
            ErrorCode.UNSUPPORTED_TYPE,
        )
    if len(message.segments("MSH")) > 1:
        return _reject(reading, "MSH", "more than one message in one: send each in a frame of its own")
    if not event:
        event = read.value(read.segment("EVN", required=False), "EVN", 1)
    if event not in EVENTS:
        reading.note = (
            f"the event {_quote(event) if event else '(none)'} is not used by Linje 72: nothing changed"
        )
        return reading
    reading.events = read.events(event, maps, now, place=f"message {reading.message_id}")
    if reading.problems:
        reading.events = []
    return reading


def _reject(reading: Reading, where: str, text: str, code: ErrorCode = ErrorCode.DATA_TYPE) -> Reading:
    reading.rejected = True
    reading.problems.append(Hl7Problem(where, text, code))
    return reading


def _guess_id(text: str) -> str:
    """Return MSH-10 as far as a message too broken to parse still shows it (for the AR's MSA-2)."""
    if not text.startswith("MSH") or len(text) < 4:
        return ""
    fields = text.split("\r", 1)[0].split(text[3])
    return fields[9].strip() if len(fields) > 9 and len(fields[9]) <= 64 else ""


def _quote(value: str) -> str:
    """Return a code as an error may quote it: short, and never a CPR-shaped run."""
    return shown(value if len(value) <= QUOTE_LENGTH else value[:QUOTE_LENGTH] + "…")


class _Message:
    """The fields of one parsed message, each problem noted on the reading."""

    def __init__(self, message: hl7.Message, reading: Reading) -> None:
        self.message = message
        self.reading = reading
        # The message's own separators (MSH-1, MSH-2): a sender may choose others than |^~\&.
        self.repeat, self.component, self.subcomponent = message.separators[2:5]

    def problem(self, where: str, text: str, code: ErrorCode = ErrorCode.REQUIRED) -> None:
        self.reading.problems.append(Hl7Problem(where, text, code))

    def segment(self, name: str, *, required: bool = True) -> hl7.Segment | None:
        try:
            return self.message.segment(name)
        except KeyError:
            if required:
                self.problem(name, f"the {name} segment is missing", ErrorCode.SEGMENT)
            return None

    def raw(self, segment: hl7.Segment | None, number: int) -> str:
        """Return a field's text as sent (all its components), or '' when the segment is shorter."""
        if segment is None or len(segment) <= number:
            return ""
        text = str(segment[number]).strip()
        return "" if text == HL7_NULL else text

    def repetitions(self, segment: hl7.Segment | None, number: int) -> list[list[str]]:
        """Return a field's repetitions, each a list of its components (first subcomponents, unescaped)."""
        raw = self.raw(segment, number)
        if not raw:
            return []
        return [
            [self._unescape(part.split(self.subcomponent)[0]).strip() for part in rep.split(self.component)]
            for rep in raw.split(self.repeat)
        ]

    def value(self, segment: hl7.Segment | None, name: str, number: int, component: int = 1) -> str:
        """Return one component of a field's first repetition ('' when not given)."""
        repetitions = self.repetitions(segment, number)
        if not repetitions or len(repetitions[0]) < component:
            return ""
        value = repetitions[0][component - 1]
        return "" if value == HL7_NULL else value

    def _unescape(self, value: str) -> str:
        return str(self.message.unescape(value)) if self.message.esc in value else value

    def time(self, segment: hl7.Segment | None, name: str, number: int) -> datetime | None:
        """Return an HL7 TS field as an aware UTC time, None when empty; a bad one is a problem."""
        raw = self.value(segment, name, number)
        if not raw:
            return None
        where = f"{name}-{number}"
        match = HL7_TIME.fullmatch(raw)
        if match is None:
            self.problem(
                where,
                f"not an HL7 time to the minute (YYYYMMDDHHMM[SS][+/-ZZZZ]): {_quote(raw)}",
                ErrorCode.DATA_TYPE,
            )
            return None
        year, month, day, hour, minute, second, fraction, sign, zone_h, zone_m = match.groups()
        try:
            wall = datetime(
                int(year),
                int(month),
                int(day),
                int(hour),
                int(minute),
                int(second or 0),
                int((fraction or "0").ljust(6, "0")[:6]),
            )
        except ValueError:
            self.problem(where, f"not a real date and time: {_quote(raw)}", ErrorCode.DATA_TYPE)
            return None
        if sign is None:
            try:
                return from_copenhagen(wall, raw)
            except TimeError as exc:
                self.problem(where, str(exc), ErrorCode.DATA_TYPE)
                return None
        offset = timedelta(hours=int(zone_h), minutes=int(zone_m))
        if offset > timedelta(hours=14) or int(zone_m) >= 60:
            self.problem(where, f"not a real offset from UTC: {_quote(raw)}", ErrorCode.DATA_TYPE)
            return None
        return (wall - offset if sign == "+" else wall + offset).replace(tzinfo=UTC)

    def cpr(self, segment: hl7.Segment | None, name: str, number: int, now: datetime) -> str | None:
        """Return the CPR number among a field's identifiers (CX), checked; never quoted in a problem."""
        where = f"{name}-{number}"
        if segment is None:
            return None
        found = [rep for rep in self.repetitions(segment, number) if _is_cpr(rep)]
        if not found:
            self.problem(
                where,
                "no CPR number: expected an identifier with assigning authority (CX-4) CPR or "
                "1.2.208.176.1.2, or identifier type (CX-5) NNDNK",
            )
            return None
        numbers = set()
        for rep in found:
            try:
                numbers.add(check_feed_cpr(rep[0], local_date(now)))
            except CprError as exc:
                self.problem(where, str(exc), ErrorCode.DATA_TYPE)
                return None
        if len(numbers) > 1:
            self.problem(where, "two different CPR numbers for one patient", ErrorCode.DATA_TYPE)
            return None
        return numbers.pop()

    def municipality(self, pid: hl7.Segment | None) -> str | None:
        """Return the home municipality: PID-11.9 of the first address that gives one (None if none)."""
        for address in self.repetitions(pid, 11):
            if len(address) >= MUNICIPALITY_COMPONENT:
                value = address[MUNICIPALITY_COMPONENT - 1]
                if value and value != HL7_NULL:
                    return value[:100]
        return None

    def department(self, pv1: hl7.Segment | None, maps: FeedMaps, *, required: bool) -> str | None:
        """Return our department code for PV1-3's point of care, else PV1-10's hospital service."""
        where, code = "PV1-3", self.value(pv1, "PV1", 3)
        if not code:
            where, code = "PV1-10", self.value(pv1, "PV1", 10)
        if not code:
            if required:
                self.problem("PV1-3", "no department: neither PV1-3 (point of care) nor PV1-10 is given")
            return None
        ours = maps.departments.get(code)
        if ours is None:
            if code in maps.own_departments:
                return code
            self.problem(
                where,
                f"department code {_quote(code)} is not in the mapping file's [departments] table: "
                f'add it there: "{_quote(code)[1:-1]}" = "<our department code>"',
                ErrorCode.TABLE_VALUE,
            )
            return None
        if ours not in maps.own_departments:
            self.problem(
                where,
                f"department code {_quote(code)} maps to {_quote(ours)} in the mapping file's "
                "[departments] table, which is not a department here",
                ErrorCode.TABLE_VALUE,
            )
            return None
        return ours

    def destination(self, pv1: hl7.Segment | None, maps: FeedMaps) -> str | None:
        """Return our destination for PV1-36 (discharge disposition), None when not given."""
        code = self.value(pv1, "PV1", 36)
        if not code:
            return None
        ours = maps.dispositions.get(code, code if code in DESTINATIONS else None)
        if ours is None:
            self.problem(
                "PV1-36",
                f"discharge disposition {_quote(code)} is not in the mapping file's [dispositions] table: "
                f"add it there as one of {', '.join(sorted(DESTINATIONS))}",
                ErrorCode.TABLE_VALUE,
            )
        return ours

    def event_time(self, evn: hl7.Segment | None, msh: hl7.Segment) -> datetime | None:
        """Return when the event happened: EVN-6, else EVN-2 (recorded), else MSH-7 (sent)."""
        for segment, name, number in ((evn, "EVN", 6), (evn, "EVN", 2), (msh, "MSH", 7)):
            before = len(self.reading.problems)
            moment = self.time(segment, name, number)
            if moment is not None or len(self.reading.problems) > before:
                return moment
        self.problem("EVN-2", "no time of the event: EVN-6, EVN-2 and MSH-7 are all empty")
        return None

    def events(self, event: str, maps: FeedMaps, now: datetime, *, place: str) -> list[StayEvent]:
        """Return the message's events (one, or one per merged identity for an A40)."""
        msh = self.message.segment("MSH")
        evn = self.segment("EVN", required=False)
        pid = self.segment("PID")
        if event == "A40":
            return self._merges(maps, now, place=place)
        pv1 = self.segment("PV1")
        cpr = self.cpr(pid, "PID", 3, now)
        if pv1 is None:
            return []
        stay_id = self.value(pv1, "PV1", 19)
        if pv1 is not None and not stay_id:
            self.problem("PV1-19", "the visit number is required: it ties the events of a stay together")
        kind = EVENTS[event]
        if event == "A01":
            patient_class = self.value(pv1, "PV1", 2)
            if patient_class not in PATIENT_CLASSES:
                shown_class = _quote(patient_class) if patient_class else "empty"
                self.problem(
                    "PV1-2",
                    f"patient class {shown_class}: an admission (A01) needs I (inpatient), "
                    "E (emergency) or O (outpatient)",
                    ErrorCode.TABLE_VALUE if patient_class else ErrorCode.REQUIRED,
                )
            kind = PATIENT_CLASSES.get(patient_class, kind)
        admitted = self.time(pv1, "PV1", 44)
        discharged = self.time(pv1, "PV1", 45)
        department = self.department(pv1, maps, required=kind in _NEEDS_DEPARTMENT)
        reports_discharge = kind in (EventKind.DISCHARGE, EventKind.UPDATE)
        destination = self.destination(pv1, maps) if reports_discharge else None
        municipality = self.municipality(pid) if reports_discharge else None
        at = self._at(kind, admitted, discharged, evn, msh)
        if kind is EventKind.DISCHARGE:
            discharged = at  # PV1-45, or EVN-6 in its place
        if kind is EventKind.DISCHARGE and pid is not None and self.value(pid, "PID", 30) == "Y":
            kind = EventKind.DEATH  # PID-30: the patient died (the discharge is their death)
        self._check_order(admitted, discharged, now)
        if self.reading.problems or cpr is None or at is None:
            return []
        return [
            StayEvent(
                kind=kind,
                source=Source.HL7,
                cpr=cpr,
                stay_id=stay_id,
                at=at,
                department=department,
                admitted_at=admitted,
                discharged_at=discharged
                if kind in (EventKind.DISCHARGE, EventKind.DEATH, EventKind.UPDATE)
                else None,
                destination=destination,
                target_group=None if destination is None else destination in TARGET_DESTINATIONS,
                municipality=municipality,
                cancels=CANCELS.get(event),
                message_id=self.reading.message_id,
                place=place,
            )
        ]

    def _at(
        self,
        kind: EventKind,
        admitted: datetime | None,
        discharged: datetime | None,
        evn: hl7.Segment | None,
        msh: hl7.Segment,
    ) -> datetime | None:
        """Return when the event happened; an admission's and a discharge's own time is required.

        A discharge without PV1-45 takes EVN-6 (when the event occurred, which for an A03 is
        the discharge itself), never EVN-2 or MSH-7: those say when it was recorded or sent,
        and a message resent from a queue hours later would move the window by as much.
        """
        if kind in (EventKind.ADMIT, EventKind.EMERGENCY, EventKind.OUTPATIENT, EventKind.DISCHARGE):
            own, where, what = (
                (discharged, "PV1-45", "discharge time")
                if kind is EventKind.DISCHARGE
                else (admitted, "PV1-44", "admission time")
            )
            if own is not None or self.value(self.message.segment("PV1"), "PV1", int(where[4:])):
                return own  # a time given but not readable is a problem of its own already
            before = len(self.reading.problems)
            occurred = self.time(evn, "EVN", 6)
            if occurred is None and len(self.reading.problems) == before:
                self.problem(
                    where, f"the {what} is required (and EVN-6, when the event occurred, is empty too)"
                )
            return occurred
        return self.event_time(evn, msh)

    def _check_order(self, admitted: datetime | None, discharged: datetime | None, now: datetime) -> None:
        if discharged is not None and discharged > now + CLOCK_SKEW:
            self.problem("PV1-45", "the discharge time is in the future", ErrorCode.DATA_TYPE)
        if admitted is not None and discharged is not None and admitted > discharged:
            self.problem(
                "PV1-44", "the admission time is after the discharge time (PV1-45)", ErrorCode.DATA_TYPE
            )

    def _merges(self, maps: FeedMaps, now: datetime, *, place: str) -> list[StayEvent]:
        """Return one merge per PID and MRG pair (an A40 may carry several)."""
        msh = self.message.segment("MSH")
        evn = self.segment("EVN", required=False)
        at = self.event_time(evn, msh)
        pairs: list[tuple[hl7.Segment, hl7.Segment | None, hl7.Segment | None]] = []
        for segment in self.message:
            name = str(segment[0])
            if name == "PID":
                pairs.append((segment, None, None))
            elif name == "MRG" and pairs and pairs[-1][1] is None:
                pairs[-1] = (pairs[-1][0], segment, pairs[-1][2])
            elif name == "PV1" and pairs:
                pairs[-1] = (pairs[-1][0], pairs[-1][1], segment)
        if not pairs or any(mrg is None for _, mrg, _ in pairs):
            self.problem(
                "MRG",
                "the MRG segment is missing: a merge (A40) names the old identity in MRG-1",
                ErrorCode.SEGMENT,
            )
            return []
        events = []
        for pid, mrg, pv1 in pairs:
            cpr = self.cpr(pid, "PID", 3, now)
            old = self.cpr(mrg, "MRG", 1, now)
            if cpr is not None and cpr == old:
                self.problem("MRG-1", "the old identity is the same CPR number as PID-3", ErrorCode.DATA_TYPE)
            if cpr and old and at and not self.reading.problems:
                events.append(
                    StayEvent(
                        kind=EventKind.MERGE,
                        source=Source.HL7,
                        cpr=cpr,
                        stay_id=self.value(pv1, "PV1", 19),
                        at=at,
                        merged_cpr=old,
                        message_id=self.reading.message_id,
                        place=place,
                    )
                )
        return [] if self.reading.problems else events


_NEEDS_DEPARTMENT = frozenset(
    {EventKind.ADMIT, EventKind.EMERGENCY, EventKind.OUTPATIENT, EventKind.DISCHARGE, EventKind.TRANSFER}
)


def _is_cpr(components: Sequence[str]) -> bool:
    authority = components[3] if len(components) > 3 else ""
    identifier_type = components[4] if len(components) > 4 else ""
    return bool(components and components[0]) and (
        authority.upper() in CPR_AUTHORITIES or identifier_type.upper() in CPR_IDENTIFIER_TYPES
    )


def _escape(text: str) -> str:
    """Return text as an HL7 field may carry it (the standard separators |^~\\& escaped)."""
    out = text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\")
    out = out.replace("&", "\\T\\").replace("~", "\\R\\")
    return " ".join(out.split())


# MSA-3 is free text the sender's interface monitor shows; ERR-8 carries each problem whole.
MSA_TEXT_LENGTH = 500


def build_ack(
    reading: Reading,
    now: datetime,
    *,
    code: Ack | None = None,
    problems: Iterable[Hl7Problem] | None = None,
    control_id: str | None = None,
) -> str:
    """Return the HL7 ACK for a message: MSA-1 the code, MSA-2 its MSH-10, MSA-3 and ERR saying what is wrong.

    `code` and `problems` default to the reading's; the service overrides them when the
    events could not be applied. No problem text ever holds a CPR number.
    """
    header = reading.header or Header()
    code = code or reading.ack
    found = list(reading.problems if problems is None else problems)
    stamp = now.astimezone(COPENHAGEN).strftime("%Y%m%d%H%M%S%z")
    event = header.event if re.fullmatch(r"[A-Z0-9]{1,3}", header.event or "") else ""
    msh = "|".join(
        [
            "MSH",
            "^~\\&",
            "LINJE72",
            _escape(header.receiving_facility),
            _escape(header.sending_application),
            _escape(header.sending_facility),
            stamp,
            "",
            f"ACK^{event}^ACK" if event else "ACK",
            control_id or uuid.uuid4().hex[:20],
            _escape(header.processing_id)[:3] or "P",
            _escape(header.version)[:8] or "2.5",
        ]
    )
    text = "; ".join(problem.line() for problem in found) or reading.note
    if code is Ack.ACCEPTED and not text:
        text = "applied"
    msa = f"MSA|{code}|{_escape(reading.message_id)}|{_escape(text)[:MSA_TEXT_LENGTH]}"
    segments = [msh, msa]
    for problem in found:
        if not problem.where:
            segments.append(
                f"ERR|||{problem.code}^{ERROR_NAMES[problem.code]}^HL70357|E||||{_escape(problem.text)}"
            )
            continue
        # ERR-2 where (segment^sequence^field), ERR-3 the code (table 0357), ERR-4 severity, ERR-8 the text.
        segment, _, number = problem.where.partition("-")
        location = f"{_escape(segment)}^1^{_escape(number)}" if number else f"{_escape(segment)}^1"
        name = ERROR_NAMES[problem.code]
        segments.append(f"ERR||{location}|{problem.code}^{name}^HL70357|E||||{_escape(problem.line())}")
    return "\r".join(segments) + "\r"


def refusal(reason: str, now: datetime) -> str:
    """Return the AR for bytes that cannot even be framed as a message (MSA-2 empty: no id is known)."""
    return build_ack(Reading(rejected=True), now, problems=[Hl7Problem("", reason, ErrorCode.DATA_TYPE)])
