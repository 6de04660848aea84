"""HL7 v2 ADT: the reader's events and errors, the ACKs, the MLLP listener, the file import, calls after."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import create_app
from app.config import ConfigError, feed_mappings_from
from app.data.models import Contact, Discharge
from app.intake.hl7v2 import (
    Ack,
    FeedMaps,
    build_ack,
    read_adt,
    read_bytes,
    read_message,
    refusal,
    split_messages,
)
from app.intake.stays import EventKind, Source
from app.intake.table import Problems
from app.mllp.listener import make_server
from app.mllp.server import Answer, Limits, MllpServer
from ivr.simulator import ScriptedPhone, play_call
from tests import factories as f
from tests.factories import CPR_ACTIVE
from tests.hl7_messages import adt, segment
from tests.support import AFTER_HOURS, EXAMPLES, REQUIRED_SETTINGS, Clock, app_settings

NOW = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # Monday 12:00 in Copenhagen
MAPS = FeedMaps(
    departments={"KAR": "RH-KARD", "NEU": "RH-NEUR"},
    dispositions={"01": "other", "03": "nursing_home", "06": "home_nursing"},
    own_departments={"RH-KARD", "RH-NEUR"},
)
REPLACEMENT_CPR = "010190AB12"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def read(text: str, now: datetime = NOW) -> tuple[list, list[str]]:
    problems = Problems("adt.hl7")
    events = read_adt(text, MAPS, problems, now)
    return events, problems.lines()


@pytest.mark.parametrize(
    ("event", "pv1", "kind", "department", "cancels"),
    (
        ("A01", {2: "I"}, EventKind.ADMIT, "RH-KARD", None),
        ("A01", {2: "E"}, EventKind.EMERGENCY, "RH-KARD", None),
        ("A01", {2: "O"}, EventKind.OUTPATIENT, "RH-KARD", None),
        ("A04", {2: "O"}, EventKind.OUTPATIENT, "RH-KARD", None),
        ("A02", {3: "NEU^12^1^RH", 6: "KAR^312^2^RH"}, EventKind.TRANSFER, "RH-NEUR", None),
        ("A03", {}, EventKind.DISCHARGE, "RH-KARD", None),
        ("A08", {}, EventKind.UPDATE, "RH-KARD", None),
        ("A11", {}, EventKind.CANCEL, "RH-KARD", EventKind.ADMIT),
        ("A13", {}, EventKind.CANCEL, "RH-KARD", EventKind.DISCHARGE),
        ("A21", {}, EventKind.LEAVE_START, "RH-KARD", None),
        ("A22", {}, EventKind.LEAVE_END, "RH-KARD", None),
        # PV1-10 (hospital service) names the department when PV1-3 has no point of care.
        ("A01", {3: None, 10: "NEU"}, EventKind.ADMIT, "RH-NEUR", None),
        # Our own codes map to themselves: a feed can be tried without a mapping file.
        ("A01", {3: "RH-NEUR"}, EventKind.ADMIT, "RH-NEUR", None),
    ),
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_each_adt_event_becomes_the_stay_event_it_means(
    event: str, pv1: dict, kind: EventKind, department: str, cancels: EventKind | None
) -> None:
    events, problems = read(adt(event, pv1=pv1))

    assert problems == []
    [read_event] = events
    assert (read_event.kind, read_event.department, read_event.cancels) == (kind, department, cancels)
    assert (read_event.source, read_event.cpr, read_event.stay_id) == (Source.HL7, CPR_ACTIVE, "V9001")
    assert (read_event.message_id, read_event.place) == ("MSG0001", "message MSG0001")


def test_a_discharge_carries_its_times_and_destination_in_our_words() -> None:
    [event], problems = read(adt("A03", pv1={36: "06"}))

    assert problems == []
    assert event.at == event.discharged_at == utc("2026-11-23T09:15:00+01:00")
    assert event.admitted_at == utc("2026-11-20T08:00:00+01:00")
    assert (event.destination, event.target_group) == ("home_nursing", True)


@pytest.mark.parametrize(
    ("pv1", "evn6", "at", "problem"),
    (
        ({}, "", "2026-11-23T09:15:00+01:00", None),
        # PV1-45 wins over EVN-6 when both are given.
        ({}, "202611230900", "2026-11-23T09:15:00+01:00", None),
        # Without PV1-45, EVN-6 (when the event occurred) is the discharge time.
        ({45: None}, "202611230930", "2026-11-23T09:30:00+01:00", None),
        # Neither: refused; never EVN-2 or MSH-7, which say when it was recorded or sent.
        (
            {45: None},
            "",
            None,
            "adt.hl7: message MSG0001: PV1-45: the discharge time is required "
            "(and EVN-6, when the event occurred, is empty too)",
        ),
    ),
    ids=["pv1-45", "pv1-45-over-evn-6", "evn-6", "neither"],
)
def test_a_discharge_time_comes_from_pv1_45_else_evn_6(
    pv1: dict, evn6: str, at: str | None, problem: str | None
) -> None:
    events, problems = read(adt("A03", pv1=pv1, evn6=evn6))

    assert [event.discharged_at for event in events] == ([utc(at)] if at else [])
    assert problems == ([problem] if problem else [])


@pytest.mark.parametrize(
    ("time", "expected"),
    (
        ("202611230915", "2026-11-23T09:15:00+01:00"),  # winter: CET
        ("202607010915", "2026-07-01T09:15:00+02:00"),  # summer: CEST
        ("20260701091530", "2026-07-01T09:15:30+02:00"),
        ("20261123081500+0000", "2026-11-23T09:15:00+01:00"),
        ("20261123091500.1234+0100", "2026-11-23T09:15:00.123400+01:00"),
        ("202603290315", "2026-03-29T03:15:00+02:00"),  # just after the spring change
        ("202610250230+0100", "2026-10-25T02:30:00+01:00"),  # the repeated hour, with an offset
    ),
)
def test_hl7_times_without_an_offset_are_copenhagen_time(time: str, expected: str) -> None:
    [event], problems = read(adt("A03", pv1={44: None, 45: time}), now=utc("2026-12-01T00:00:00+00:00"))

    assert problems == []
    assert event.discharged_at == utc(expected)


NO_CPR = (
    "no CPR number: expected an identifier with assigning authority (CX-4) CPR or 1.2.208.176.1.2, "
    "or identifier type (CX-5) NNDNK"
)


@pytest.mark.parametrize(
    ("message", "line"),
    (
        (
            adt("A03", pv1={3: "XYZ^1^1^RH"}),
            "PV1-3: department code 'XYZ' is not in the mapping file's [departments] table: "
            'add it there: "XYZ" = "<our department code>"',
        ),
        (
            adt("A01", pv1={3: None, 10: "ONK"}),
            "PV1-10: department code 'ONK' is not in the mapping file's [departments] table: "
            'add it there: "ONK" = "<our department code>"',
        ),
        (
            adt("A03", pv1={36: "99"}),
            "PV1-36: discharge disposition '99' is not in the mapping file's [dispositions] table: "
            "add it there as one of home_nursing, nursing_home, other, residential, temporary_stay",
        ),
        (
            adt("A03", pv1={3: None, 10: None}),
            "PV1-3: no department: neither PV1-3 (point of care) nor PV1-10 is given",
        ),
        (
            adt("A03", pv1={19: None}),
            "PV1-19: the visit number is required: it ties the events of a stay together",
        ),
        (adt("A03", pid3="Z4711^^^EPIC^MR"), f"PID-3: {NO_CPR}"),
        (adt("A03", pid3=""), f"PID-3: {NO_CPR}"),
        (
            adt("A03", pid3="3213401234^^^CPR"),
            "PID-3: the CPR number does not hold a real birth date",
        ),
        (
            adt("A03", pid3="0101401234^^^CPR~1503521236^^^1.2.208.176.1.2"),
            "PID-3: two different CPR numbers for one patient",
        ),
        (
            adt("A03", pv1={45: "202611231"}),
            "PV1-45: not an HL7 time to the minute (YYYYMMDDHHMM[SS][+/-ZZZZ]): '202611231'",
        ),
        (adt("A03", pv1={45: "202611310915"}), "PV1-45: not a real date and time: '202611310915'"),
        (
            adt("A03", pv1={44: "202603200800", 45: "202603290230"}),
            "PV1-45: 202603290230 does not exist in Copenhagen (daylight saving starts): give an offset",
        ),
        (
            adt("A03", pv1={44: "202610200800", 45: "202610250230"}),
            "PV1-45: 202610250230 happens twice in Copenhagen (daylight saving ends): give an offset",
        ),
        (adt("A03", pv1={45: "202611241200"}), "PV1-45: the discharge time is in the future"),
        (
            adt("A03", pv1={44: "202611231000"}),
            "PV1-44: the admission time is after the discharge time (PV1-45)",
        ),
        (
            adt("A01", pv1={2: "P"}),
            "PV1-2: patient class 'P': an admission (A01) needs I (inpatient), E (emergency) "
            "or O (outpatient)",
        ),
        (
            adt("A01", pv1={44: None}),
            "PV1-44: the admission time is required (and EVN-6, when the event occurred, is empty too)",
        ),
        (adt("A03", with_pv1=False), "PV1: the PV1 segment is missing"),
        (
            adt("A40", extra=()),
            "MRG: the MRG segment is missing: a merge (A40) names the old identity in MRG-1",
        ),
        (
            adt("A40", extra=(segment("MRG", {1: f"{CPR_ACTIVE}^^^CPR"}),)),
            "MRG-1: the old identity is the same CPR number as PID-3",
        ),
    ),
    ids=[
        "unknown-department",
        "unknown-service",
        "unmappable-disposition",
        "no-department",
        "no-visit-number",
        "no-cpr-identifier",
        "empty-pid-3",
        "impossible-cpr",
        "two-cprs",
        "time-without-minutes",
        "31-november",
        "dst-gap",
        "dst-repeat",
        "discharge-in-future",
        "admitted-after-discharge",
        "pre-admit-class",
        "admission-without-time",
        "no-pv1",
        "merge-without-mrg",
        "merge-into-itself",
    ],
)
def test_a_message_that_cannot_be_applied_names_its_id_field_and_fault_and_gives_no_event(
    message: str, line: str
) -> None:
    events, problems = read(message)

    assert events == []
    assert problems == [f"adt.hl7: message MSG0001: {line}"]
    assert CPR_ACTIVE not in problems[0] and "1503521236" not in problems[0]


@pytest.mark.parametrize("separator", ["\r", "\n", "\r\n"], ids=["cr", "lf", "crlf"])
def test_segments_may_be_separated_by_cr_lf_or_both(separator: str) -> None:
    events, problems = read(adt("A03", separator=separator))

    assert problems == []
    assert [(e.kind, e.department, e.destination) for e in events] == [
        (EventKind.DISCHARGE, "RH-KARD", "nursing_home")
    ]


def test_a_replacement_cpr_number_with_letters_is_read_and_never_shown() -> None:
    [event], problems = read(adt("A03", pid3=f"{REPLACEMENT_CPR.lower()}^^^CPR"))
    assert (problems, event.cpr) == ([], REPLACEMENT_CPR)

    _, problems = read(adt("A03", pid3=f"{REPLACEMENT_CPR}^^^CPR", pv1={36: "99"}))
    assert len(problems) == 1 and REPLACEMENT_CPR not in problems[0]


def test_a_merge_names_the_old_identity_from_mrg_1() -> None:
    message = adt("A40", extra=(segment("MRG", {1: f"{REPLACEMENT_CPR}^^^CPR", 5: "V9001"}),))

    [event], problems = read(message)

    assert problems == []
    assert (event.kind, event.cpr, event.merged_cpr) == (EventKind.MERGE, CPR_ACTIVE, REPLACEMENT_CPR)
    assert event.at == utc("2026-11-23T10:30:00+01:00")  # EVN-2: a merge's time only orders it


def test_a_discharge_of_a_patient_who_died_is_a_death() -> None:
    [event], problems = read(adt("A03", pid30="Y", pv1={36: None}))

    assert problems == []
    assert (event.kind, event.at) == (EventKind.DEATH, utc("2026-11-23T09:15:00+01:00"))


def test_a_file_of_several_messages_framed_or_not_gives_every_event_and_each_problem_by_message() -> None:
    text = (
        "\x0b"
        + adt("A01", message_id="M1")
        + "\x1c\r"
        + "\n\n"
        + adt("A03", message_id="M2", separator="\n")
        + "\n"
        + adt("A03", message_id="M3", pv1={36: "99"})
        + adt("A03", message_id="M2")
    )

    events, problems = read(text)

    assert len(split_messages(text)) == 4
    assert [event.message_id for event in events] == ["M1", "M2", "M2"]
    assert problems == [
        "adt.hl7: message M3: PV1-36: discharge disposition '99' is not in the mapping file's [dispositions] "
        "table: add it there as one of home_nursing, nursing_home, other, residential, temporary_stay",
        "adt.hl7: message M2: MSH-10: the same id as message 2 of the file: each message needs its own",
    ]


def test_an_adt_event_the_line_does_not_use_is_accepted_with_a_note_and_changes_nothing() -> None:
    reading = read_message(adt("A05"), MAPS, NOW)

    assert (reading.ack, reading.events) == (Ack.ACCEPTED, [])
    ack = build_ack(reading, NOW, control_id="ACK1").split("\r")
    assert ack[1] == "MSA|AA|MSG0001|the event 'A05' is not used by Linje 72: nothing changed"

    problems = Problems("adt.hl7")
    assert read_adt(adt("A05"), MAPS, problems, NOW) == []
    assert (problems.lines(), problems.warnings()) == (
        [],
        [
            "adt.hl7: message MSG0001: MSH-9: warning: "
            "the event 'A05' is not used by Linje 72: nothing changed"
        ],
    )


def segments(ack: str) -> dict[str, list[str]]:
    assert ack.endswith("\r")
    return {line[:3]: line.split("|") for line in ack.rstrip("\r").split("\r")}


def test_an_applied_message_is_acknowledged_aa_to_its_sender_with_its_control_id() -> None:
    reading = read_message(adt("A03"), MAPS, NOW)

    ack = segments(build_ack(reading, NOW, control_id="L72ACK1"))

    assert ack["MSH"][2:12] == [
        "LINJE72",
        "REGH",
        "EPIC",
        "RH",
        "20261123120000+0100",
        "",
        "ACK^A03^ACK",
        "L72ACK1",
        "P",
        "2.5",
    ]
    assert ack["MSA"] == ["MSA", "AA", "MSG0001", "applied"]
    assert "ERR" not in ack


@pytest.mark.parametrize(
    ("message", "code", "message_id", "err"),
    (
        (
            adt("A03", pv1={36: "99"}),
            "AE",
            "MSG0001",
            [
                "ERR",
                "",
                "PV1^1^36",
                "103^Table value not found^HL70357",
                "E",
                "",
                "",
                "",
                "PV1-36: discharge disposition '99' is not in the mapping file's [dispositions] table: "
                "add it there as one of home_nursing, nursing_home, other, residential, temporary_stay",
            ],
        ),
        (
            "this is not HL7 at all",
            "AR",
            "",
            [
                "ERR",
                "",
                "MSH^1",
                "102^Data type error^HL70357",
                "E",
                "",
                "",
                "",
                "MSH: not an HL7 v2 message: it must start with an MSH segment",
            ],
        ),
        (
            adt("R01", message_type="ORU", message_id="LAB7"),
            "AR",
            "LAB7",
            [
                "ERR",
                "",
                "MSH^1^9",
                "200^Unsupported message type^HL70357",
                "E",
                "",
                "",
                "",
                "MSH-9: message type 'ORU' is not read here: Linje 72 reads ADT messages",
            ],
        ),
        (
            adt("A03", message_id=""),
            "AR",
            "",
            [
                "ERR",
                "",
                "MSH^1^10",
                "101^Required field missing^HL70357",
                "E",
                "",
                "",
                "",
                "MSH-10: the message control id is required (the acknowledgement names it)",
            ],
        ),
    ),
    ids=["unmappable-disposition-AE", "garbage-AR", "not-adt-AR", "no-control-id-AR"],
)
def test_a_message_that_cannot_be_applied_or_read_is_answered_ae_or_ar_saying_why(
    message: str, code: str, message_id: str, err: list[str]
) -> None:
    ack = segments(build_ack(read_message(message, MAPS, NOW), NOW, control_id="L72ACK1"))

    assert ack["MSA"][:3] == ["MSA", code, message_id]
    assert ack["MSA"][3] == err[8]
    assert ack["ERR"] == err
    assert CPR_ACTIVE not in "|".join(ack["MSA"] + ack["ERR"])


# The MLLP listener over a real socket on loopback.

START, END = b"\x0b", b"\x1c\r"


class Sender:
    """A sending system's side of one MLLP connection, every wait bounded by a timeout."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buffer = b""

    def send(self, message: str | bytes) -> None:
        data = message.encode() if isinstance(message, str) else message
        self.sock.sendall(START + data + END)

    def ack(self) -> dict[str, list[str]]:
        while END not in self.buffer:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed before an acknowledgement")
            self.buffer += data
        frame, _, self.buffer = self.buffer.partition(END)
        assert frame.startswith(START)
        return segments(frame[1:].decode())

    def closed(self) -> bool:
        """Say whether the listener has closed the connection (waiting at most the socket's timeout)."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def listening(answer: Answer, limits: Limits | None = None) -> Iterator[MllpServer]:
    server = MllpServer(("127.0.0.1", 0), answer, refuse, limits)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def refuse(reason: str) -> bytes:
    return refusal(reason, NOW).encode()


def read_only(payload: bytes) -> bytes:
    """Answer as the listener does, without a database: read, and acknowledge what was read."""
    return build_ack(read_bytes(payload, MAPS, NOW), NOW).encode()


def test_the_server_answers_each_message_on_one_connection_with_its_own_id() -> None:
    with listening(read_only) as server, Sender(server.port) as sender:
        for number in range(1, 4):
            sender.send(adt("A03", message_id=f"M{number}"))
        # Two messages in one write, and one split across writes, are framed all the same.
        sender.sock.sendall(START + adt("A01", message_id="M4").encode() + END + START + b"MSH|^~")
        sender.sock.sendall(adt("A01", message_id="M5").encode()[6:] + END)

        acks = [sender.ack()["MSA"][:3] for _ in range(5)]

    assert acks == [["MSA", "AA", f"M{number}"] for number in range(1, 6)]


def test_a_garbage_frame_is_answered_ar_and_the_connection_goes_on() -> None:
    with listening(read_only) as server, Sender(server.port) as sender:
        sender.send(b"\x00\xffnot hl7")
        rejected = sender.ack()
        sender.send(adt("A03", message_id="M2"))
        accepted = sender.ack()

    assert rejected["MSA"][:2] == ["MSA", "AR"]
    assert accepted["MSA"][:3] == ["MSA", "AA", "M2"]


@pytest.mark.parametrize(
    ("data", "text"),
    (
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "27 bytes outside a frame (MLLP starts each with 0x0B)"),
        (START + b"MSH|" + b"x" * 2000, "a message longer than 1000 bytes"),
    ),
    ids=["not-mllp", "too-large"],
)
def test_bytes_that_are_not_mllp_are_answered_ar_and_closed_without_harm_to_other_connections(
    data: bytes, text: str
) -> None:
    with listening(read_only, Limits(max_message=1000)) as server:
        with Sender(server.port) as other, Sender(server.port) as sender:
            sender.sock.sendall(data)
            answer = sender.ack()
            closed = sender.closed()
            other.send(adt("A03"))
            other_ack = other.ack()

    assert answer["MSA"] == ["MSA", "AR", "", text]
    assert closed
    assert other_ack["MSA"][:2] == ["MSA", "AA"]


def test_a_sender_that_stalls_mid_message_is_closed_after_the_frame_timeout() -> None:
    with listening(read_only, Limits(frame_seconds=0.2)) as server, Sender(server.port) as sender:
        sender.sock.sendall(START + b"MSH|^~\\&|EPIC")
        # The listener closes it; the socket's own timeout (5 s) only bounds the wait.
        assert sender.closed()


# The listener with the database: what a sender sees, and where a call goes after each step.

NURSE = "+4532501010"
ANNA = "+4540101001"  # RH-KARD's day shift on Monday: first in its chain, for a patient admitted too
GER_DAY = "+4531203001"  # BFH-GER has no rota: its day phone is first


@pytest.fixture
def region(app: Flask, session: Session) -> None:
    """RH-KARD with Anna on Monday's day shift, BFH-GER, a home nurse; the mapping file of docs/examples."""
    kard = f.department(session)
    f.department(
        session,
        "BFH-GER",
        name="Geriatrisk Afdeling",
        day_phone=GER_DAY,
        oncall_phone=None,
        switchboard_phone="+4531200000",
    )
    f.caller(session)
    f.shift(session, kard, "day", "2026-11-23 08:00", "2026-11-23 15:00", ANNA, "Anna Holm")
    session.commit()
    app.config["FEED_MAPPINGS"] = feed_mappings_from({"LINJE72_FEED_MAPPINGS": str(EXAMPLES / MAPPINGS)})


MAPPINGS = "feed-mappings.toml"


def send(app: Flask, *messages: str) -> list[list[str]]:
    """Send the messages over one MLLP connection to a listener on loopback; return each MSA."""
    server = make_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        with Sender(server.port) as sender:
            answers = []
            for message in messages:
                sender.send(message)
                answers.append(sender.ack()["MSA"])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    return answers


def call_about(app: Flask, session: Session, cpr: str = CPR_ACTIVE) -> tuple[str, str]:
    """Place a call from the home nurse about the patient; return the contact's route and the first ring."""
    trace = play_call(app, NURSE, ScriptedPhone([cpr, "1"]))
    session.expire_all()
    contact = session.scalars(select(Contact).order_by(Contact.id.desc())).first()
    assert contact is not None
    return contact.route, trace.rung[0]


DISCHARGED = adt("A03", message_id="M1")  # Monday 09:15 from KAR, to a nursing home
ADMIT_ELSEWHERE = {3: "GER^4^1^BFH", 19: "V9002^^^BFH^VN", 44: "202611230945"}


@pytest.mark.usefixtures("region")
@pytest.mark.parametrize(
    ("messages", "acks", "route", "first_ring"),
    (
        # A discharge to a nursing home: the discharging department holds the patient.
        ([DISCHARGED], ["AA"], "responsibility", ANNA),
        # An inpatient admission elsewhere ends it: the admitting department, route inpatient.
        ([DISCHARGED, adt("A01", message_id="M2", pv1=ADMIT_ELSEWHERE)], ["AA", "AA"], "inpatient", GER_DAY),
        # An emergency visit or an outpatient registration does not.
        (
            [DISCHARGED, adt("A01", message_id="M2", pv1={**ADMIT_ELSEWHERE, 2: "E"})],
            ["AA", "AA"],
            "responsibility",
            ANNA,
        ),
        (
            [DISCHARGED, adt("A04", message_id="M2", pv1={**ADMIT_ELSEWHERE, 2: "O"})],
            ["AA", "AA"],
            "responsibility",
            ANNA,
        ),
        # A cancelled discharge (A13): the patient is in hospital again.
        ([DISCHARGED, adt("A13", message_id="M2")], ["AA", "AA"], "inpatient", ANNA),
        # Admitted, on leave (still admitted), back, then moved to BFH-GER.
        (
            [
                adt("A01", message_id="M1"),
                adt("A21", message_id="M2"),
            ],
            ["AA", "AA"],
            "inpatient",
            ANNA,
        ),
        (
            [
                adt("A01", message_id="M1"),
                adt("A21", message_id="M2"),
                adt("A22", message_id="M3"),
                adt("A02", message_id="M4", pv1={3: "GER^4^1^BFH", 6: "KAR^312^2^RH"}),
            ],
            ["AA", "AA", "AA", "AA"],
            "inpatient",
            GER_DAY,
        ),
        # A discharge home (disposition 01: other) opens no responsibility.
        ([adt("A03", message_id="M1", pv1={36: "01"})], ["AA"], "no_responsibility", AFTER_HOURS),
        # A discharge without its time is refused whole: nothing stored.
        ([adt("A03", message_id="M1", pv1={45: None})], ["AE"], "no_responsibility", AFTER_HOURS),
        # A discharge with a disposition the mapping file lacks: refused, nothing stored.
        ([adt("A03", message_id="M1", pv1={36: "77"})], ["AE"], "no_responsibility", AFTER_HOURS),
        # The same message twice is applied once; a cancel of a stay never reported is refused.
        ([DISCHARGED, DISCHARGED], ["AA", "AA"], "responsibility", ANNA),
        ([adt("A13", message_id="M1")], ["AE"], "no_responsibility", AFTER_HOURS),
    ),
    ids=[
        "discharged-to-nursing-home",
        "admitted-elsewhere",
        "emergency-visit",
        "outpatient-visit",
        "discharge-cancelled",
        "on-leave",
        "leave-back-transfer",
        "discharged-home",
        "no-discharge-time",
        "unmappable-disposition",
        "sent-twice",
        "cancel-of-unknown-stay",
    ],
)
def test_a_call_after_each_step_goes_where_the_routing_policy_says(
    app: Flask, session: Session, messages: list[str], acks: list[str], route: str, first_ring: str
) -> None:
    answers = send(app, *messages)

    # Each answer names its own message (MSA-2 = MSH-10).
    sent_ids = [message.split("|")[9] for message in messages]
    assert [(msa[1], msa[2]) for msa in answers] == list(zip(acks, sent_ids, strict=True))
    assert call_about(app, session) == (route, first_ring)


@pytest.mark.usefixtures("region")
def test_the_sender_is_told_what_cannot_be_applied_and_the_log_names_the_message_not_the_patient(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="linje72.mllp")

    answers = send(
        app,
        adt("A13", message_id="M1"),
        DISCHARGED,
        DISCHARGED.replace("M1", "M2"),
        adt("A03", message_id="M3", pv1={36: "77"}),
    )

    assert answers == [
        ["MSA", "AE", "M1", "no stay 'V9001' to cancel"],
        ["MSA", "AA", "M1", "applied"],
        ["MSA", "AA", "M2", "applied"],
        [
            "MSA",
            "AE",
            "M3",
            "PV1-36: discharge disposition '77' is not in the mapping file's [dispositions] table: "
            "add it there as one of home_nursing, nursing_home, other, residential, temporary_stay",
        ],
    ]
    logged = [record.getMessage() for record in caplog.records]
    assert "message M1 (ADT^A13) acknowledged AE: no stay 'V9001' to cancel" in logged
    assert "message M1 (ADT^A03) acknowledged AA: applied" in logged
    assert not any(CPR_ACTIVE in line for line in logged)


@pytest.mark.usefixtures("region")
def test_a_message_sent_again_is_acknowledged_again_and_changes_nothing(app: Flask, session: Session) -> None:
    answers = send(app, DISCHARGED, DISCHARGED)

    assert answers[1] == ["MSA", "AA", "M1", "already applied: nothing changed"]
    assert session.scalar(select(func.count()).select_from(Discharge)) == 1


@pytest.mark.usefixtures("region")
def test_a_merge_moves_the_stays_of_a_replacement_number_to_the_real_one(
    app: Flask, session: Session
) -> None:
    merge = adt("A40", message_id="M2", extra=(segment("MRG", {1: f"{REPLACEMENT_CPR}^^^CPR"}),))

    answers = send(app, adt("A03", message_id="M1", pid3=f"{REPLACEMENT_CPR}^^^CPR"), merge)

    assert [msa[1] for msa in answers] == ["AA", "AA"]
    assert call_about(app, session) == ("responsibility", ANNA)


# The same messages from a file: `linje72 import hl7 FILE`.


@pytest.mark.usefixtures("region")
def test_a_file_of_messages_is_imported_whole_and_the_call_routes_by_it(
    app: Flask, session: Session, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "adt.hl7"
    path.write_text(
        "\x0b" + adt("A01", message_id="M1") + "\x1c\r\n" + adt("A03", message_id="M2", separator="\n")
    )

    result = runner.invoke(args=["import", "hl7", str(path)])

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        f"{path}: 2 messages with 2 events: 1 stays added, 1 updated, 0 unchanged"
    )
    assert call_about(app, session) == ("responsibility", ANNA)


@pytest.mark.usefixtures("region")
@pytest.mark.parametrize(
    ("messages", "errors"),
    (
        (
            [adt("A01", message_id="M1"), adt("A03", message_id="M2", pv1={3: "XYZ^1^1^RH", 45: None})],
            [
                "message M2: PV1-3: department code 'XYZ' is not in the mapping file's [departments] table: "
                'add it there: "XYZ" = "<our department code>"',
                "message M2: PV1-45: the discharge time is required "
                "(and EVN-6, when the event occurred, is empty too)",
            ],
        ),
        (
            [adt("A03", message_id="M1"), adt("A11", message_id="M2", pv1={19: "V7"})],
            ["message M2: no stay 'V7' to cancel"],
        ),
    ),
    ids=["bad-fields", "refused-by-the-stays"],
)
def test_a_file_with_any_problem_is_refused_whole_each_line_naming_the_message_and_field(
    app: Flask,
    session: Session,
    runner: FlaskCliRunner,
    tmp_path: Path,
    messages: list[str],
    errors: list[str],
) -> None:
    path = tmp_path / "adt.hl7"
    path.write_text("\n".join(messages))

    result = runner.invoke(args=["import", "hl7", str(path)])

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"{path}: {line}" for line in errors] + [
        f"{path}: refused; nothing was changed."
    ]
    assert CPR_ACTIVE not in result.output
    assert session.scalar(select(func.count()).select_from(Discharge)) == 0


# The mapping file, checked at start.


@pytest.mark.parametrize(
    ("content", "message"),
    (
        (
            "[departments]\nKAR = 'RH-KARD'\n[dispositions]\n'03' = 'plejehjem'\n",
            "[dispositions] '03' maps to 'plejehjem', which is not a destination (one of home_nursing, "
            "nursing_home, other, residential, temporary_stay)",
        ),
        ("[departments]\nKAR = \n", "not valid TOML: "),
        (
            "[afdelinger]\nKAR = 'RH-KARD'\n",
            "unknown table or key 'afdelinger' (expected [departments], [dispositions])",
        ),
        ("[departments]\nKAR = 7\n", "[departments] 'KAR' must map to a name in quotes, not 7"),
    ),
    ids=["unknown-destination", "malformed", "unknown-table", "not-text"],
)
def test_a_faulty_mapping_file_stops_the_start_naming_the_setting_and_the_fault(
    database_url: str, clock: Clock, instance_path: str, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "mappings.toml"
    path.write_text(content)

    with pytest.raises(ConfigError) as raised:
        create_app(app_settings(database_url, clock, instance_path, LINJE72_FEED_MAPPINGS=str(path)))

    assert str(raised.value).startswith(f"LINJE72_FEED_MAPPINGS ({path}): {message}")


def test_the_listener_does_not_start_with_a_mapping_to_a_department_that_does_not_exist(
    app: Flask, runner: FlaskCliRunner
) -> None:
    app.config["FEED_MAPPINGS"] = feed_mappings_from({"LINJE72_FEED_MAPPINGS": str(EXAMPLES / MAPPINGS)})

    result = runner.invoke(args=["mllp", "--port", "0"])

    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        f"linje72: LINJE72_FEED_MAPPINGS ({EXAMPLES / MAPPINGS}): [departments] 'GER' maps to 'BFH-GER', "
        "which is not a department here (import it first: linje72 import departments FILE)"
    )


def test_the_listener_in_several_processes_acks_every_message_once_and_stops_with_its_workers(
    database_url: str, session: Session, app: Flask, tmp_path: Path
) -> None:
    """`linje72 mllp --workers 3` as an operator runs it: several connections, every message applied once."""
    f.department(session)
    session.commit()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("LINJE72_", "TWILIO_"))},
        **REQUIRED_SETTINGS,
        "DATABASE_URL": database_url,
        "LINJE72_INSTANCE_PATH": str(tmp_path),
    }
    listener = subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "mllp", "--port", "0", "--workers", "3"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert listener.stderr is not None
        line = listener.stderr.readline()
        assert "with 3 process(es)" in line, line
        port = int(line.split("127.0.0.1:")[1].split()[0])
        acks: list[list[str]] = []
        for connection in range(4):
            with Sender(port) as sender:
                for number in range(3):
                    n = connection * 3 + number
                    pv1 = {3: "RH-KARD", 19: f"V{n}", 36: "nursing_home"}
                    sender.send(adt("A03", message_id=f"W{n}", pv1=pv1))
                    acks.append(sender.ack()["MSA"][:3])
        assert sorted(acks) == sorted(["MSA", "AA", f"W{n}"] for n in range(12))
        session.rollback()
        assert session.scalar(select(func.count()).select_from(Discharge)) == 12
    finally:
        listener.send_signal(signal.SIGTERM)
        listener.wait(timeout=10)
        if listener.stderr is not None:
            listener.stderr.close()
    assert listener.returncode is not None
    with pytest.raises(OSError):  # the workers are gone too: nobody listens any more
        socket.create_connection(("127.0.0.1", port), timeout=1)
