"""The region's monitoring: figures checked against contacts counted by hand, on the dashboard, in its
exports and in the monthly report; before and after the retention purge; the health councils file."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import timedelta
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.data.db import session_scope
from app.data.models import Contact, ContactStatistic, DialAttempt, FollowUp
from app.services.retention import count_statistics, purge
from app.services.statistics import Filters, monitoring
from app.values.times import parse_time
from ivr.simulator import ScriptedPhone, play_call
from tests import factories as f
from tests.console import log_in
from tests.support import Clock

NOVEMBER = "from=2026-11-01&to=2026-11-30"
COUNCILS = """health_council,municipality
Sundhedsråd Byen,København
Sundhedsråd Byen,Frederiksberg
Sundhedsråd Nord,Hillerød
Sundhedsråd Nord,Helsingør
"""


@dataclass(frozen=True)
class Call:
    start: str  # Copenhagen time
    department: str  # "" for none
    period: str
    route: str
    outcome: str
    kind: str
    municipality: str  # "" for no stay
    answer: int | None = None  # seconds from the start to someone taking the call
    follow_up: int | None = None  # minutes the follow-up stayed open; -1: still open


KARD, GER, HELD, C = "RH-KARD", "BFH-GER", "responsibility", Call
# Twelve contacts in November 2026 (2 November is a Monday), counted by hand below.
CALLS = (
    C("2026-11-02 10:00", KARD, "day", HELD, "connected", "home_nursing", "København", 40),
    C("2026-11-02 11:00", KARD, "day", HELD, "connected", "nursing_home", "Frederiksberg", 70),
    C("2026-11-03 22:00", KARD, "oncall", HELD, "forwarded", "home_nursing", "København", 100),
    C("2026-11-03 23:00", KARD, "oncall", HELD, "unanswered", "home_nursing", "Hillerød",
         follow_up=30),
    C("2026-11-04 09:00", GER, "day", HELD, "connected", "gp", "Helsingør", 25),
    C("2026-11-04 09:30", GER, "day", "no_responsibility", "forwarded", "gp", "", 200),
    C("2026-11-05 20:00", GER, "oncall", HELD, "unanswered", "nursing_home", "Frederiksberg",
         follow_up=90),
    C("2026-11-05 21:00", GER, "oncall", HELD, "abandoned", "nursing_home", "København"),
    C("2026-11-06 10:00", KARD, "day", HELD, "connected", "temporary_stay", "Helsingør", 55),
    C("2026-11-06 10:30", "", "day", "unidentified_caller", "forwarded", "", "", 80),
    C("2026-11-07 12:00", KARD, "oncall", HELD, "unanswered", "home_nursing", "København",
         follow_up=-1),
    C("2026-11-09 10:00", GER, "day", "inpatient", "connected", "acute_1813", "Hillerød", 35),
)  # fmt: skip
# Not counted in November: a test call, and a call on 31 October at 23:30 (Copenhagen).
OUTSIDE = (
    Call("2026-11-10 10:00", KARD, "day", HELD, "connected", "home_nursing", "København", 10),
    Call(
        "2026-10-31 23:30",
        "RH-KARD",
        "oncall",
        "responsibility",
        "connected",
        "home_nursing",
        "København",
        10,
    ),
)


def store_calls(app: Flask, session: Session) -> None:
    """The departments, councils and contacts above, stored as the call flow leaves them."""
    departments = {
        "RH-KARD": f.department(session),
        "BFH-GER": f.department(session, "BFH-GER", name="Geriatrisk Afdeling", hospital="Bispebjerg",
                                agreement="HOV"),
    }  # fmt: skip
    f.department(session, "HVH-ORT", name="Ortopædkirurgi", hospital="Hvidovre")  # no calls at all
    for number, call in enumerate((*CALLS, *OUTSIDE)):
        start = parse_time(call.start)
        stay = None
        if call.municipality:
            stay = f.discharge(
                app,
                session,
                departments[call.department],
                (start - timedelta(days=1)).isoformat(),
                external_id=f"SP-{number}",
                municipality=call.municipality,
            )
        contact = Contact(
            call_sid=f"CA{number:032x}",
            started_at=start,
            updated_at=start,
            ended_at=start + timedelta(minutes=5),
            caller_number="+4532501010",
            caller_kind=call.kind or None,
            department=departments.get(call.department),
            discharge=stay,
            period=call.period,
            route=call.route,
            outcome=call.outcome,
            step="ended",
            follow_up=call.follow_up is not None,
            test_call=call is OUTSIDE[0],
            answered_at=start + timedelta(seconds=call.answer) if call.answer is not None else None,
        )
        contact.attempts.append(
            DialAttempt(position=0, number="+4531102001", label="department_day", started_at=start)
        )
        session.add(contact)
        session.flush()
        if call.follow_up is not None:
            opened = contact.ended_at
            assert opened is not None
            session.add(
                FollowUp(
                    contact=contact,
                    department=contact.department,
                    opened_at=opened,
                    closed_at=opened + timedelta(minutes=call.follow_up) if call.follow_up >= 0 else None,
                )
            )
    session.commit()


@pytest.fixture
def counted(app: Flask, session: Session, clock: Clock, runner: FlaskCliRunner, tmp_path: Path) -> None:
    councils = tmp_path / "councils.csv"
    councils.write_text(COUNCILS, encoding="utf-8")
    assert runner.invoke(args=["import", "health-councils", str(councils)]).exit_code == 0
    store_calls(app, session)
    with app.app_context():
        count_statistics(lambda: session_scope(write=True), clock.now)
    for email, role in (("region@x.dk", "region"), ("admin@x.dk", "admin")):
        f.user(session, email, role)
    session.commit()


def region(app: Flask) -> Any:
    client = app.test_client()
    log_in(client, "region@x.dk")
    return client


def export(client: Any, table: str, query: str = NOVEMBER) -> list[list[str]]:
    response = client.get(f"/dashboard/export.csv?table={table}&{query}")
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def column(rows: list[list[str]], name: str) -> dict[str, str]:
    """One column of an export by its row labels."""
    at = rows[0].index(name)
    return {row[0]: row[at] for row in rows[1:]}


# What the hand count gives, table by table: contacts, connected, forwarded, unanswered, hung up.
HAND_COUNTED = {
    "hospitals": {"Rigshospitalet": "6", "Bispebjerg": "5", "ingen afdeling": "1"},
    "departments": {"RH-KARD Hjertemedicinsk Klinik": "6", "BFH-GER Geriatrisk Afdeling": "5",
                    "ingen afdeling": "1"},
    "municipalities": {"København": "4", "Frederiksberg": "2", "Helsingør": "2", "Hillerød": "2",
                       "ingen indlæggelse fundet": "2"},
    "councils": {"Sundhedsråd Byen": "6", "Sundhedsråd Nord": "4", "intet sundhedsråd": "2"},
    "periods": {"dagtid": "7", "vagttid": "5"},
    "caller_kinds": {"hjemmesygepleje": "4", "plejecenter": "3", "egen læge": "2",
                     "midlertidig døgnplads": "1", "Akuttelefonen 1813": "1",
                     "ukendt (opkaldet sluttede, før det blev kendt)": "1"},
    "agreements": {"installationens egne indstillinger": "7", "HOV": "5"},
    "weeks": {"uge 45, 2026": "11", "uge 46, 2026": "1"},
    "days": {"2026-11-02": "2", "2026-11-03": "2", "2026-11-04": "2", "2026-11-05": "2", "2026-11-06": "2",
             "2026-11-07": "1", "2026-11-09": "1"},
}  # fmt: skip


@pytest.mark.usefixtures("counted")
@pytest.mark.parametrize("table", list(HAND_COUNTED))
def test_every_table_counts_the_contacts_as_counted_by_hand(app: Flask, table: str) -> None:
    assert column(export(region(app), table), "Kontakter") == HAND_COUNTED[table]


@pytest.mark.usefixtures("counted")
def test_the_tiles_show_the_hand_counted_figures(app: Flask) -> None:
    page = text_of(region(app).get(f"/dashboard?{NOVEMBER}").get_data(as_text=True))
    # 12 contacts; 8 answered (5 connected, 3 forwarded): 66.7 %; 605 s / 8 = 76 s mean; bands
    # 1 ≤ 30, 3 ≤ 60, 2 ≤ 90, 1 ≤ 120, 1 > 180: the median in ≤ 60 s, the 90th percentile > 180 s.
    assert "Kontakter 12 opkald til linjen i perioden" in page
    assert "Svarprocent 66.7 % 8 besvaret: 5 stillet igennem, 3 viderestillet til en bemandet linje" in page
    assert "Tid til svar 76 s gennemsnit fra opkaldets start; median ≤ 60 s, 90 % inden for > 180 s" in page
    assert "Uden behandlingsansvar 1 " in page
    # 3 unanswered, 1 hung up; 3 follow-ups: 30 and 90 minutes closed (mean 60), one still open.
    assert "Ikke besvaret 4 3 tog ingen, 1 lagde selv på; 3 skal ringes op" in page
    assert "Opfølgningstid 60 min gennemsnit af 2 lukkede; 1 stadig åben" in page


@pytest.mark.usefixtures("counted")
def test_a_department_row_has_every_measure_counted_by_hand(app: Flask) -> None:
    rows = export(region(app), "departments")
    geriatrics = dict(zip(rows[0], next(r for r in rows if r[0].startswith("BFH-GER")), strict=True))
    # Calls 5, 6, 7, 8, 12: connected 5 and 12, forwarded 6, unanswered 7, hung up 8; answered in
    # 25, 200 and 35 s (mean 87); call 6 without responsibility; follow-up 7 closed after 90 min.
    assert geriatrics == {
        "Afdeling": "BFH-GER Geriatrisk Afdeling",
        "Kontakter": "5",
        "Stillet igennem": "2",
        "Viderestillet": "1",
        "Ubesvaret": "1",
        "Opkalderen lagde på": "1",
        "Svarprocent": "60.0",
        "Gennemsnitlig tid til svar": "87",
        "Uden behandlingsansvar": "1",
        "Opfølgninger": "1",
        "Opfølgninger lukket": "1",
        "Gennemsnitlig opfølgningstid": "90",
    }


@pytest.mark.usefixtures("counted")
def test_time_to_answer_is_counted_in_bands(app: Flask) -> None:
    rows = export(region(app), "answer_times")
    assert rows[1:] == [
        ["op til 30 s", "1", "12.5"],
        ["op til 60 s", "3", "37.5"],
        ["op til 90 s", "2", "25.0"],
        ["op til 120 s", "1", "12.5"],
        ["op til 180 s", "0", "0.0"],
        ["over 180 s", "1", "12.5"],
    ]


FILTERED = (
    ("hospital=Bispebjerg", 5),
    ("department=RH-KARD", 6),
    ("municipality=K%C3%B8benhavn", 4),
    ("council=Sundhedsr%C3%A5d+Nord", 4),
    ("agreement=HOV", 5),
    ("agreement=default", 7),
    ("caller_kind=gp", 2),
    ("council=Sundhedsr%C3%A5d+Byen&caller_kind=home_nursing", 3),
)


@pytest.mark.usefixtures("counted")
@pytest.mark.parametrize(("query", "calls"), FILTERED)
def test_each_filter_counts_only_its_contacts(app: Flask, query: str, calls: int) -> None:
    rows = export(region(app), "periods", f"{NOVEMBER}&{query}")
    assert sum(int(row[1]) for row in rows[1:]) == calls


@pytest.mark.usefixtures("counted")
@pytest.mark.parametrize("table", ["departments", "days", "answer_times", "councils"])
def test_the_page_the_csv_and_the_excel_file_have_the_same_numbers(app: Flask, table: str) -> None:
    client = region(app)
    from_csv = export(client, table)
    workbook = load_workbook(io.BytesIO(client.get(f"/dashboard/export.xlsx?table={table}&{NOVEMBER}").data))
    sheet = workbook.active
    assert sheet is not None
    from_excel = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    assert numbers(from_excel) == numbers(from_csv)
    on_page = tables_of(client.get(f"/dashboard?{NOVEMBER}").get_data(as_text=True))[table]
    assert [[cell.split(" ")[0].replace("–", "") for cell in row] for row in on_page[1:]] == [
        [row[0].split(" ")[0], *row[1:]] for row in from_csv[1:]
    ]


@pytest.mark.usefixtures("counted")
def test_the_figures_are_the_same_after_the_retention_purge(
    app: Flask, session: Session, clock: Clock
) -> None:
    client = region(app)
    before = {table: export(client, table) for table in ("departments", "municipalities", "answer_times")}
    with app.app_context():
        later = parse_time("2027-07-01T10:00:00+02:00")
        report = purge(lambda: session_scope(write=True), later, timedelta(days=180), timedelta(hours=72))
    assert report.contacts == 14 and report.stays == 12  # every call thinned, every stay gone
    after = {table: export(client, table) for table in before}
    assert after == before


def test_a_follow_up_closed_after_its_call_was_counted_is_added_to_that_calls_figures(
    app: Flask, session: Session, clock: Clock
) -> None:
    store_calls(app, session)
    with app.app_context():
        assert count_statistics(lambda: session_scope(write=True), clock.now) == (14, 0)
    open_one = session.scalars(select(FollowUp).where(FollowUp.closed_at.is_(None))).one()
    open_one.closed_at = open_one.opened_at + timedelta(minutes=45)
    session.commit()
    with app.app_context():
        assert count_statistics(lambda: session_scope(write=True), clock.now) == (0, 1)
        assert count_statistics(lambda: session_scope(write=True), clock.now) == (0, 0)  # once only
    with app.app_context(), session_scope() as db:
        figures = monitoring(
            db, Filters(parse_time("2026-11-01").date(), parse_time("2026-11-30").date())
        ).total
    assert (figures.follow_ups_closed, figures.follow_up_seconds) == (3, (30 + 90 + 45) * 60)


def test_a_real_call_records_when_it_was_answered(app: Flask, session: Session, clock: Clock) -> None:
    f.small_region(app, session)
    play_call(app, "+4532501010", ScriptedPhone(["0101401234", "1"], {f.ANNA: "1"}))
    contact = session.scalars(select(Contact)).one()
    assert contact.outcome == "connected" and contact.answered_at == clock.now
    with app.app_context():
        count_statistics(lambda: session_scope(write=True), clock.now)
    session.commit()
    row = session.scalars(select(ContactStatistic)).one()
    assert (row.calls, row.answered, row.answered_30, row.municipality) == (1, 1, 1, "")


@pytest.mark.usefixtures("counted")
def test_the_monthly_report_holds_the_months_numbers_and_nothing_from_outside(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "november.html"
    result = runner.invoke(args=["report", "--month", "2026-11", "--out", str(out), "--language", "en"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{out}: 12 contacts, 2026-11-01 to 2026-11-30"
    html = out.read_text(encoding="utf-8")
    assert "Contacts 12 calls to the line in the period" in text_of(html)
    assert "Answer rate 66.7 %" in text_of(html)
    tables = tables_of(html)
    assert [row[:2] for row in tables["councils"][1:]] == [
        ["Sundhedsråd Byen", "6"],
        ["Sundhedsråd Nord", "4"],
        ["no health council", "2"],
    ]
    assert "<svg" in html and "<script" not in html and "<link" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "0101401234" not in html and "010140" not in html


def test_a_report_month_must_be_a_month(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["report", "--month", "2026-13"])
    assert result.exit_code == 2
    assert "a month is YYYY-MM, not '2026-13'" in result.output


@pytest.mark.usefixtures("counted")
def test_a_period_that_ends_before_it_starts_shows_this_month_and_says_why(app: Flask) -> None:
    page = region(app).get("/dashboard?from=2026-11-30&to=2026-11-01").get_data(as_text=True)
    assert "Perioden skal slutte efter den starter" in page
    assert "2026-11-01 til 2026-11-23" in page  # this month so far (the clock says 23 November)


def test_the_health_councils_file_is_refused_with_a_line_per_problem(
    runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "councils.csv"
    path.write_text(
        "health_council,municipality\nSundhedsråd Byen,København\nSundhedsråd Syd,københavn\n,Dragør\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["import", "health-councils", str(path)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{path}:3: municipality: københavn is already in Sundhedsråd Byen (row 2): "
        "a municipality is in one council",
        f"{path}:4: health_council: required, but missing",
        f"{path}: refused; nothing was changed.",
    ]


def test_the_health_councils_file_replaces_the_configuration(
    app: Flask, session: Session, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "councils.csv"
    path.write_text(COUNCILS, encoding="utf-8")
    assert (
        runner.invoke(args=["import", "health-councils", str(path)])
        .output.strip()
        .endswith("2 health councils of 4 municipalities; 0 no longer listed removed")
    )
    path.write_text("health_council,municipality\nSundhedsråd Byen,København\n", encoding="utf-8")
    assert (
        runner.invoke(args=["import", "health-councils", str(path)])
        .output.strip()
        .endswith("1 health council of 1 municipality; 3 no longer listed removed")
    )


# --- reading the page as a person does ---------------------------------------------------


def numbers(rows: list[list[str]]) -> list[list[str | float]]:
    """Cells as numbers where they are numbers (Excel keeps 60.0 as 60)."""

    def value(cell: str) -> str | float:
        try:
            return float(cell)
        except ValueError:
            return cell

    return [[value(cell) for cell in row] for row in rows]


def text_of(html: str) -> str:
    """The page's visible text, whitespace collapsed (no tags, no SVG)."""
    html = re.sub(r"<svg.*?</svg>", " ", html, flags=re.S)
    html = re.sub(r"<(style|script|title)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", html)
    text = unescape(text)
    return " ".join(text.split())


class _Tables(HTMLParser):
    """Each chart section's table, by the section's id: rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._section: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section" and dict(attrs).get("class") == "chart-card":
            self._section = dict(attrs)["id"]
            self.tables[self._section or ""] = []
        elif tag == "tr" and self._section:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._section:
            self.tables[self._section].append(self._row)
            self._row = None
        elif tag == "section":
            self._section = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables_of(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(re.sub(r"<svg.*?</svg>", "", html, flags=re.S))
    return parser.tables


@pytest.mark.usefixtures("counted")
def test_the_dashboard_shows_counts_and_never_a_caller_or_a_patient(app: Flask) -> None:
    page = region(app).get(f"/dashboard?{NOVEMBER}").get_data(as_text=True)
    assert "+4532501010" not in page and "32501010" not in page  # the caller's number
    assert "010140" not in page and "P-" not in page  # the patient: birth date, pseudonym
    assert "Hjertemedicinsk Klinik" in page  # departments, by name
