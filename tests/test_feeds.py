"""Calendars out: a doctor's and a department's feed, the secret address, the console page, the CLI."""

from __future__ import annotations

import http.client
import io
import logging
import re
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from app.data.models import AuditEvent, CalendarFeed
from app.intake.rota import ShiftRecord
from app.logs import configure
from app.services.feeds import add_feed, revoke_feed
from app.services.overrides import OverrideRequest, add_override
from app.services.rota import Author, publish_rota
from app.values.times import local_minute, parse_time
from routing import Role
from tests import factories as f
from tests.console import csrf_token, log_in
from tests.support import PUBLIC_URL, Clock

ANNA, BO, CARL, DORTE = "+4540101001", "+4540101002", "+4540101003", "+4540102002"
NOW = parse_time("2026-11-23T10:00:00+01:00")


@pytest.fixture
def rota(app: Flask, session: Session) -> None:
    """RH-KARD: Anna on Monday's day shift, Bo on call Monday night with Carl covering 20–23 for
    him, Bo's night a month and a half ago (outside the feed); BFH-GER: Dorte's day shift."""
    cardiology = f.department(session)
    geriatrics = f.department(
        session, "BFH-GER", name="Geriatrisk Afdeling", hospital="Bispebjerg", day_phone="+4531203001"
    )
    f.shift(session, cardiology, "day", "2026-11-23 08:00", "2026-11-23 15:00", ANNA, "Anna Holm")
    f.shift(session, cardiology, "oncall", "2026-11-23 15:00", "2026-11-24 08:00", BO, "Bo Jensen")
    f.shift(session, cardiology, "oncall", "2026-10-05 15:00", "2026-10-06 08:00", BO, "Bo Jensen")
    f.shift(session, geriatrics, "day", "2026-11-23 08:00", "2026-11-23 15:30", DORTE, "Dorte Berg")
    add_override(
        session,
        OverrideRequest(
            "RH-KARD",
            parse_time("2026-11-23 20:00"),
            parse_time("2026-11-23 23:00"),
            "Carl Nørgaard",
            CARL,
            replaces_phone=BO,
            reason="Bo er syg",
        ),
        NOW,
        actor="planner@x.dk",
    )
    session.commit()


def make_feed(session: Session, code: str, phone: str | None) -> str:
    _, token = add_feed(session, code, phone, "", NOW, actor="planner@x.dk")
    session.commit()
    return token


def fetch(client: FlaskClient, token: str) -> Calendar:
    response = client.get(f"/calendar/{token}.ics")
    assert response.status_code == 200, response.get_data(as_text=True)
    return Calendar.from_ical(response.get_data())


def events(calendar: Calendar) -> list[tuple[str, str, str]]:
    """Each event as a calendar app shows it: summary, local start, local end."""
    return [
        (str(e["SUMMARY"]), local_minute(e.decoded("DTSTART")), local_minute(e.decoded("DTEND")))
        for e in calendar.walk("VEVENT")
    ]


@pytest.mark.usefixtures("rota")
@pytest.mark.parametrize(
    ("phone", "expected"),
    (
        (
            BO,
            [
                ("Vagt RH-KARD", "2026-11-23 15:00", "2026-11-23 20:00"),
                ("Vagt RH-KARD", "2026-11-23 23:00", "2026-11-24 08:00"),
            ],
        ),
        (CARL, [("Vagt RH-KARD (for Bo Jensen)", "2026-11-23 20:00", "2026-11-23 23:00")]),
        (ANNA, [("Dagtid RH-KARD", "2026-11-23 08:00", "2026-11-23 15:00")]),
    ),
    ids=["replaced-for-a-stretch", "covering-by-override", "plain-day-shift"],
)
def test_a_doctors_feed_has_what_they_cover_and_not_what_is_covered_for_them(
    app: Flask, session: Session, phone: str, expected: list[tuple[str, str, str]]
) -> None:
    calendar = fetch(app.test_client(), make_feed(session, "RH-KARD", phone))
    assert events(calendar) == expected
    for item in calendar.walk("VEVENT"):
        assert str(item["TRANSP"]) == "OPAQUE"  # the doctor is busy
        assert "Hjertemedicinsk Klinik" in str(item["DESCRIPTION"])


@pytest.mark.usefixtures("rota")
def test_the_department_feed_shows_who_covers_each_stretch_and_nothing_else(
    app: Flask, session: Session
) -> None:
    calendar = fetch(app.test_client(), make_feed(session, "RH-KARD", None))
    assert events(calendar) == [
        ("Dagtid RH-KARD: Anna Holm", "2026-11-23 08:00", "2026-11-23 15:00"),
        ("Vagt RH-KARD: Bo Jensen", "2026-11-23 15:00", "2026-11-23 20:00"),
        ("Vagt RH-KARD: Carl Nørgaard (for Bo Jensen)", "2026-11-23 20:00", "2026-11-23 23:00"),
        ("Vagt RH-KARD: Bo Jensen", "2026-11-23 23:00", "2026-11-24 08:00"),
    ]
    assert str(calendar["X-WR-CALNAME"]) == "Linje 72: RH-KARD"
    text = calendar.to_ical().decode()
    # Another department's rota, the override's reason (a colleague's sickness), and numbers stay out.
    for absent in ("Dorte", "syg", BO, CARL):
        assert absent not in text
    first = calendar.walk("VEVENT")[0]
    assert "Rolle: dagtid" in str(first["DESCRIPTION"]) and "(day)" in str(first["DESCRIPTION"])


@pytest.mark.usefixtures("rota")
def test_each_event_keeps_its_uid_across_fetches_and_when_the_same_rota_is_published_again(
    app: Flask, session: Session, clock: Clock
) -> None:
    token = make_feed(session, "RH-KARD", None)
    client = app.test_client()
    first = [str(e["UID"]) for e in fetch(client, token).walk("VEVENT")]
    clock.set("2026-11-23T10:30:00+01:00")
    second = [str(e["UID"]) for e in fetch(client, token).walk("VEVENT")]
    assert first == second and len(set(first)) == 4
    # Published again (new rows, new ids), the same shifts keep their events.
    records = [
        ShiftRecord("RH-KARD", Role(role), parse_time(start), parse_time(end), phone, name)
        for role, start, end, phone, name in (
            ("day", "2026-11-23 08:00", "2026-11-23 15:00", ANNA, "Anna Holm"),
            ("oncall", "2026-11-23 15:00", "2026-11-24 08:00", BO, "Bo Jensen"),
        )
    ]
    publish_rota(
        session, app.config["POLICY"], records, clock(), Author("planner@x.dk", "cli"), acknowledged=True
    )
    session.commit()
    assert [str(e["UID"]) for e in fetch(client, token).walk("VEVENT")] == first


@pytest.mark.usefixtures("rota")
def test_the_feed_is_a_calendar_no_cache_may_share(app: Flask, session: Session) -> None:
    response = app.test_client().get(f"/calendar/{make_feed(session, 'RH-KARD', ANNA)}.ics")
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"].startswith("private")
    assert response.headers["Referrer-Policy"] == "no-referrer"
    calendar = Calendar.from_ical(response.get_data())
    assert str(calendar["VERSION"]) == "2.0"
    event_ = calendar.walk("VEVENT")[0]
    assert event_.decoded("DTSTART").utcoffset().total_seconds() == 0  # UTC, no floating time


@pytest.mark.usefixtures("rota")
def test_a_revoked_token_and_an_unknown_one_get_the_same_404(app: Flask, session: Session) -> None:
    token = make_feed(session, "RH-KARD", ANNA)
    client = app.test_client()
    assert client.get(f"/calendar/{token}.ics").status_code == 200
    feed = session.scalars(select(CalendarFeed)).one()
    revoke_feed(session, feed.id, NOW)
    session.commit()
    answers = [
        client.get(f"/calendar/{t}.ics") for t in (token, "l72cal_" + "x" * 43, "anything", token[:-1])
    ]
    assert {(r.status_code, r.get_data(as_text=True), r.mimetype) for r in answers} == {
        (404, "Not found\n", "text/plain")
    }


@pytest.mark.usefixtures("rota")
def test_the_token_is_stored_only_as_a_hash_and_its_use_is_noted(
    app: Flask, session: Session, clock: Clock
) -> None:
    token = make_feed(session, "RH-KARD", ANNA)
    feed = session.scalars(select(CalendarFeed)).one()
    assert token not in (feed.token_hash, feed.name) and feed.last_used_at is None
    fetch(app.test_client(), token)
    session.rollback()
    assert session.scalars(select(CalendarFeed)).one().last_used_at == NOW


@pytest.mark.usefixtures("rota")
def test_fetching_a_feed_takes_a_handful_of_statements(app: Flask, session: Session) -> None:
    token = make_feed(session, "RH-KARD", None)
    statements: list[str] = []
    engine = app.extensions["linje72.engine"]

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.split()[0] in ("SELECT", "UPDATE", "INSERT", "DELETE"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        fetch(app.test_client(), token)  # the first fetch also notes the use
        first = len(statements)
        statements.clear()
        fetch(app.test_client(), token)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # The feed with its department, the shifts, the overrides (and the note of its use, once a minute).
    assert len(statements) == 3, statements
    assert first == 4


# ---- the token never reaches a log line ----


@pytest.mark.usefixtures("rota")
def test_a_failing_feed_is_logged_without_its_token(
    app: Flask, session: Session, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Flask logs an error with the request's path ("Exception on /calendar/… [GET]")."""
    token = make_feed(session, "RH-KARD", None)

    def broken(*_: object) -> bytes:
        raise RuntimeError("the calendar could not be built")

    monkeypatch.setattr("app.web.calendar.feed_calendar", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: logged, answered with a 500
    caplog.set_level(logging.DEBUG)
    client = app.test_client()
    assert client.get(f"/calendar/{token}.ics").status_code == 500
    assert client.get(f"/calendar/{token}x.ics").status_code == 404
    assert "Exception on /calendar/[token].ics [GET]" in caplog.text
    assert "the calendar could not be built" in caplog.text
    assert token not in caplog.text and token[len("l72cal_") :] not in caplog.text


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """The root logger's output as a deployment's handler writes it, after the app set up logging."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    configure("INFO")
    yield stream
    root.removeHandler(handler)


@pytest.mark.usefixtures("rota")
def test_an_access_log_line_shows_the_feed_path_without_its_token(
    app: Flask, session: Session, log_stream: io.StringIO
) -> None:
    """A real werkzeug server writes each request's path to its access log: the token is blanked."""
    token = make_feed(session, "RH-KARD", None)
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        connection.request("GET", f"/calendar/{token}.ics")
        assert connection.getresponse().read().startswith(b"BEGIN:VCALENDAR")
        connection.close()
    finally:
        server.shutdown()
        thread.join()
    text = log_stream.getvalue()
    assert '"GET /calendar/[token].ics HTTP/1.1" 200' in text
    assert token not in text and token[len("l72cal_") :] not in text


def test_gunicorns_access_log_is_blanked_too() -> None:
    logger = logging.getLogger("gunicorn.access")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        configure("INFO")
        # gunicorn's default access format, with its atoms as arguments.
        logger.info(
            '%(h)s - - "%(r)s" %(s)s',
            {"h": "10.0.0.1", "r": "GET /calendar/l72cal_Sec-ret_1.ics HTTP/1.1", "s": "200"},
        )
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    assert stream.getvalue() == '10.0.0.1 - - "GET /calendar/[token].ics HTTP/1.1" 200\n'


# ---- the console page ----

ACCOUNTS = {
    "admin": ("admin@x.dk", ()),
    "planner": ("planner@x.dk", ("RH-KARD",)),
    "department": ("afdeling@x.dk", ("RH-KARD",)),
    "region": ("region@x.dk", ()),
}


@pytest.fixture
def accounts(app: Flask, session: Session, rota: None) -> dict[str, int]:
    """One account per role, and a live feed in each department."""
    for role, (email, departments) in ACCOUNTS.items():
        f.user(session, email, role, departments)
    ids = {}
    for code, phone in (("RH-KARD", BO), ("BFH-GER", DORTE)):
        feed, _ = add_feed(session, code, phone, "", NOW, actor="admin@x.dk")
        ids[code] = feed.id
    session.commit()
    return ids


def as_role(app: Flask, role: str) -> FlaskClient:
    client = app.test_client()
    log_in(client, ACCOUNTS[role][0])
    return client


@pytest.mark.usefixtures("accounts")
@pytest.mark.parametrize(
    ("role", "status", "shown", "hidden"),
    (
        ("admin", 200, ["Bo Jensen", "Dorte Berg"], []),
        ("planner", 200, ["Bo Jensen", BO], ["Dorte Berg", DORTE, "BFH-GER"]),
        ("department", 403, [], []),
        ("region", 403, [], []),
    ),
)
def test_the_feeds_page_is_for_planners_of_their_departments_and_admins(
    app: Flask, role: str, status: int, shown: list[str], hidden: list[str]
) -> None:
    client = as_role(app, role)
    response = client.get("/calendar-feeds")
    assert response.status_code == status
    page = response.get_data(as_text=True)
    for text in shown:
        assert text in page
    for text in hidden:
        assert text not in page
    nav = client.get("/").get_data(as_text=True)
    assert ('href="/calendar-feeds"' in nav) is (status == 200)


def test_the_feeds_page_asks_anyone_not_logged_in_to_log_in(app: Flask) -> None:
    response = app.test_client().get("/calendar-feeds")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.usefixtures("accounts")
def test_a_planner_makes_a_feed_for_a_person_on_the_rota_and_sees_its_address_once(
    app: Flask, session: Session
) -> None:
    client = as_role(app, "planner")
    form = client.get("/calendar-feeds").get_data(as_text=True)
    assert f'<option value="{CARL}">Carl Nørgaard' in form  # covering by override counts as on the rota
    response = client.post(
        "/calendar-feeds",
        data={"csrf_token": csrf_token(client, "/calendar-feeds"), "department": "RH-KARD", "phone": CARL},
    )
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    found = re.search(
        r'value="(http://localhost/calendar/(l72cal_[^"]+)\.ics)"', response.get_data(as_text=True)
    )
    assert found, "the new feed's address is not on the page"
    assert found.group(1).startswith(PUBLIC_URL)
    assert events(fetch(app.test_client(), found.group(2))) == [
        ("Vagt RH-KARD (for Bo Jensen)", "2026-11-23 20:00", "2026-11-23 23:00")
    ]
    assert found.group(2) not in client.get("/calendar-feeds").get_data(as_text=True)
    session.rollback()
    audited = session.scalars(select(AuditEvent).where(AuditEvent.actor == "planner@x.dk")).all()
    assert ("change", "made for RH-KARD " + CARL) in {(e.action, e.detail) for e in audited}
    assert any(e.action == "view" and e.target == "calendar feeds" for e in audited)


@pytest.mark.usefixtures("accounts")
@pytest.mark.parametrize(
    ("data", "message"),
    (
        ({"department": "RH-KARD", "phone": DORTE}, "nobody with +4540102002 is on the rota of RH-KARD"),
        ({"department": "RH-KARD", "phone": "12"}, "not a phone number that can be dialled"),
        ({"department": "BFH-GER", "phone": ""}, "no department &#39;BFH-GER&#39; you may manage"),
    ),
    ids=["not-on-this-rota", "not-a-number", "another-department"],
)
def test_a_feed_that_cannot_be_made_is_named_and_nothing_is_stored(
    app: Flask, session: Session, data: dict[str, str], message: str
) -> None:
    client = as_role(app, "planner")
    before = len(session.scalars(select(CalendarFeed)).all())
    response = client.post(
        "/calendar-feeds",
        data={"csrf_token": csrf_token(client, "/calendar-feeds"), **data},
        follow_redirects=True,
    )
    assert message in response.get_data(as_text=True)
    session.rollback()
    assert len(session.scalars(select(CalendarFeed)).all()) == before


@pytest.mark.usefixtures("rota")
def test_making_a_feed_needs_the_csrf_token(app: Flask, session: Session) -> None:
    f.user(session, "planner@x.dk", "planner", ("RH-KARD",))
    session.commit()
    client = as_role(app, "planner")
    response = client.post("/calendar-feeds", data={"department": "RH-KARD", "phone": ""})
    assert response.status_code == 400
    session.rollback()
    assert session.scalars(select(CalendarFeed)).all() == []


def test_a_planner_revokes_their_departments_feed_but_another_departments_is_not_found(
    app: Flask, session: Session, accounts: dict[str, int]
) -> None:
    client = as_role(app, "planner")
    token = csrf_token(client, "/calendar-feeds")
    other = client.post(f"/calendar-feeds/{accounts['BFH-GER']}/revoke", data={"csrf_token": token})
    assert other.status_code == 404
    assert client.get("/calendar-feeds?department=BFH-GER").status_code == 404
    mine = client.post(f"/calendar-feeds/{accounts['RH-KARD']}/revoke", data={"csrf_token": token})
    assert mine.status_code == 302
    session.rollback()
    states = {feed.department.code: feed.revoked_at for feed in session.scalars(select(CalendarFeed))}
    assert states["RH-KARD"] == NOW and states["BFH-GER"] is None
    assert "tilbagekaldt 2026-11-23 10:00" in client.get("/calendar-feeds").get_data(as_text=True)


# ---- the command line ----


@pytest.mark.usefixtures("rota")
def test_feed_commands_print_the_address_once_list_and_revoke(app: Flask, session: Session) -> None:
    runner = app.test_cli_runner()
    made = runner.invoke(args=["feed", "add", "RH-KARD", "--phone", "40 10 10 02"])
    assert made.exit_code == 0, made.output
    url = made.output.splitlines()[-1]
    assert url.startswith(f"{PUBLIC_URL}/calendar/l72cal_") and url.endswith(".ics")
    token = url.removeprefix(f"{PUBLIC_URL}/calendar/").removesuffix(".ics")
    assert len(events(fetch(app.test_client(), token))) == 2
    listed = runner.invoke(args=["feed", "list"])
    assert (
        "RH-KARD" in listed.output and "Bo Jensen +4540101002" in listed.output and "active" in listed.output
    )
    assert token not in listed.output
    feed_id = session.scalars(select(CalendarFeed)).one().id
    assert runner.invoke(args=["feed", "revoke", str(feed_id)]).exit_code == 0
    assert app.test_client().get(f"/calendar/{token}.ics").status_code == 404
    assert "revoked" in runner.invoke(args=["feed", "list"]).output


@pytest.mark.usefixtures("rota")
@pytest.mark.parametrize(
    ("args", "message"),
    (
        (["feed", "add", "NOPE"], "department: no department 'NOPE'"),
        (["feed", "add", "RH-KARD", "--phone", DORTE], "phone: nobody with +4540102002"),
        (["feed", "revoke", "999"], "feed: no calendar feed 999"),
    ),
)
def test_feed_commands_name_what_is_wrong(app: Flask, args: list[str], message: str) -> None:
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 1 and message in result.output
