"""The region's dashboard: contacts counted from the anonymous statistics, charted, exportable.

The region (and admins) see counts only, never a call or a patient; department staff and
planners do not see it (their own calls are in the contact log). The filters live in the query
string: they are not personal data, and a filtered view can be bookmarked or sent on. The
monthly report (`linje72 report`) is the same figures and charts in one self-contained file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from flask import Response, abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from openpyxl import Workbook

from app.data.db import session_scope
from app.services.retention import ANSWER_BANDS
from app.services.statistics import OWN_SETTINGS, TABLES, Figures, Filters, Monitoring, Row, monitoring
from app.values.access import Permission
from app.values.callers import CALLER_KINDS
from app.web import bp
from app.web.charts import band_chart, bar_chart, legend, time_chart
from app.web.guard import now, requires
from routing.calendar import local_date

# At most this long a period (about three years): the statistics of longer are rarely wanted at once.
LONGEST = timedelta(days=1100)
PRESETS = ("last7", "this_month", "last_month", "this_year")
STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class Column:
    key: str
    label: Any  # a lazy translation
    value: Callable[[Figures], int | float | None]
    unit: str = ""


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _round(value: float | None, divisor: int = 1) -> int | None:
    return None if value is None else round(value / divisor)


COLUMNS = (
    Column("contacts", _l("Contacts"), lambda f: f.calls),
    Column("connected", _l("Connected"), lambda f: f.connected),
    Column("forwarded", _l("Forwarded"), lambda f: f.forwarded),
    Column("unanswered", _l("Unanswered"), lambda f: f.unanswered),
    Column("abandoned", _l("Caller hung up"), lambda f: f.abandoned),
    Column("answer_rate", _l("Answer rate"), lambda f: _percent(f.answered, f.calls), "%"),
    Column("mean_answer", _l("Mean time to answer"), lambda f: _round(f.mean_answer), "s"),
    Column("no_responsibility", _l("Without responsibility"), lambda f: f.no_responsibility),
    Column("follow_ups", _l("Follow-ups"), lambda f: f.follow_ups),
    Column("follow_ups_closed", _l("Follow-ups closed"), lambda f: f.follow_ups_closed),
    Column("mean_follow_up", _l("Mean follow-up time"), lambda f: _round(f.mean_follow_up, 60), "min"),
)
TITLES = {
    "days": _l("Contacts per day"),
    "weeks": _l("Contacts per week"),
    "periods": _l("Day time and on-call time"),
    "hospitals": _l("Per hospital"),
    "departments": _l("Per department"),
    "municipalities": _l("Per municipality (the patient's)"),
    "councils": _l("Per health council"),
    "caller_kinds": _l("Per caller kind"),
    "routes": _l("Where the call went"),
    "agreements": _l("Per agreement"),
    "answer_times": _l("Time to answer"),
}


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    chart: Markup
    header: list[str]
    units: list[str]
    rows: list[tuple[str, list[Any]]]


def parse_filters(args: Any, today: date) -> tuple[Filters, str, str]:
    """The filters from the query string, the preset chosen, and what was wrong with the dates."""
    preset = args.get("preset", "")
    error = ""
    start, end = _preset(preset, today) if preset in PRESETS else (None, None)
    if start is None or end is None:
        preset = ""
        try:
            start = date.fromisoformat(args["from"]) if args.get("from") else None
            end = date.fromisoformat(args["to"]) if args.get("to") else None
        except ValueError:
            error = _("A date is YYYY-MM-DD: this month is shown instead.")
            start = end = None
        if start is None or end is None:
            if not error and (args.get("from") or args.get("to")):
                error = _("Give both dates of the period: this month is shown instead.")
            start, end = _preset("this_month", today)
            preset = "this_month" if not error else ""
        elif end < start or end - start > LONGEST:
            error = _(
                "The period must end after it starts and last at most three years: "
                "this month is shown instead."
            )
            start, end = _preset("this_month", today)
    text = {
        name: str(args.get(name, "")).strip()[:100] for name in ("hospital", "department", "municipality")
    }
    wanted = Filters(
        start,
        end,
        hospital=text["hospital"],
        department=text["department"],
        municipality=text["municipality"],
        council=str(args.get("council", "")).strip()[:100],
        agreement=str(args.get("agreement", "")).strip()[:16],
        caller_kind=str(args.get("caller_kind", "")).strip()[:20],
    )
    return wanted, preset, error


def _preset(name: str, today: date) -> tuple[date, date]:
    first = today.replace(day=1)
    if name == "last7":
        return today - timedelta(days=6), today
    if name == "last_month":
        end = first - timedelta(days=1)
        return end.replace(day=1), end
    if name == "this_year":
        return today.replace(month=1, day=1), today
    return first, today


def row_label(table: str, row: Row) -> str:
    """A row's label as people read it: translated words, and what an empty value means."""
    key = row.key
    if table == "periods" and key in ("day", "oncall"):
        return _("day time") if key == "day" else _("on-call time")
    if table in ("periods", "routes", "caller_kinds"):
        return _(key) if key else _("unknown (the call ended before it was known)")
    if table == "departments":
        return row.label if key else _("no department")
    if table == "municipalities":
        return key or _("no stay found")
    if table == "councils":
        return key or _("no health council")
    if table == "agreements":
        return key or _("the deployment's own settings")
    if table == "hospitals":
        return key or _("no department")
    if table == "answer_times":
        return _("up to %(num)s s", num=key) if key != "0" else _("over %(num)d s", num=ANSWER_BANDS[-1])
    if table == "weeks":
        year, week = key.split("-W")
        return _("week %(week)s, %(year)s", week=int(week), year=year)
    return key


KEY_LABELS = {
    "days": _l("Day"),
    "weeks": _l("Week"),
    "periods": _l("Period"),
    "hospitals": _l("Hospital"),
    "departments": _l("Department"),
    "municipalities": _l("Municipality"),
    "councils": _l("Health council"),
    "caller_kinds": _l("Caller kind"),
    "routes": _l("Route"),
    "agreements": _l("Agreement"),
    "answer_times": _l("Answered within"),
}
SHOWN = ("periods", "hospitals", "departments", "councils", "municipalities", "caller_kinds", "routes",
         "agreements", "answer_times")  # fmt: skip


def sections(m: Monitoring) -> list[Section]:
    """Each table with its chart, in the dashboard's order (per day, or per week for a long period)."""
    return [section(m, name) for name in ("days" if m.daily else "weeks", *SHOWN)]


def section(m: Monitoring, name: str) -> Section:
    """One table, its chart and its rows as the page and the exports show them."""
    rows = m.tables[name]
    labelled = [Row(row.key, row_label(name, row), row.figures, row.group) for row in rows]
    title = str(TITLES[name])
    if name == "answer_times":
        chart = band_chart(title, [r.label for r in labelled], [r.figures.answered for r in labelled])
        return Section(
            name,
            title,
            chart,
            [str(KEY_LABELS[name]), str(_("Answered calls")), str(_("Share"))],
            ["", "", "%"],
            [
                (r.label, [r.figures.answered, _percent(r.figures.answered, m.total.answered)])
                for r in labelled
            ],
        )
    if name == "days":
        short = [f"{int(r.key[8:10])}/{int(r.key[5:7])}" for r in rows]
        chart = time_chart(title, labelled, max(1, len(rows) // 6), short)
    elif name == "weeks":
        chart = time_chart(title, labelled, max(1, len(rows) // 6), [r.key[-3:] for r in rows])
    else:
        chart = bar_chart(title, labelled)
    header = [str(KEY_LABELS[name]), *(str(column.label) for column in COLUMNS)]
    units = ["", *(column.unit for column in COLUMNS)]
    return Section(name, title, chart, header, units, [(r.label, _cells(r.figures)) for r in labelled])


def _cells(figures: Figures) -> list[Any]:
    return [column.value(figures) for column in COLUMNS]


def tiles(m: Monitoring) -> list[tuple[str, str, str]]:
    """The headline figures: (title, value, what it means)."""
    total = m.total
    rate = _percent(total.answered, total.calls)

    def band(limit: int | None) -> str:
        if limit is None:
            return "–"
        return _("≤ %(num)d s", num=limit) if limit else _("> %(num)d s", num=ANSWER_BANDS[-1])

    mean_answer = _round(total.mean_answer)
    mean_follow_up = _round(total.mean_follow_up, 60)
    return [
        (_("Contacts"), str(total.calls), _("calls to the line in the period")),
        (
            _("Answer rate"),
            f"{rate} %" if rate is not None else "–",
            _(
                "%(num)d answered: %(connected)d connected, %(forwarded)d forwarded to a staffed line",
                num=total.answered,
                connected=total.connected,
                forwarded=total.forwarded,
            ),
        ),  # fmt: skip
        (
            _("Time to answer"),
            f"{mean_answer} s" if mean_answer is not None else "–",
            _(
                "mean, from the call's start; median %(median)s, 90 %% within %(p90)s",
                median=band(total.answer_within(0.5)),
                p90=band(total.answer_within(0.9)),
            ),
        ),  # fmt: skip
        (
            _("Without responsibility"),
            str(total.no_responsibility),
            _("calls about a patient no department held the responsibility for"),
        ),
        (
            _("Not answered"),
            str(total.not_answered),
            _(
                "%(unanswered)d nobody took, %(abandoned)d the caller hung up; %(follow)d to call back",
                unanswered=total.unanswered,
                abandoned=total.abandoned,
                follow=total.follow_ups,
            ),
        ),  # fmt: skip
        (
            _("Follow-up time"),
            _("%(num)d min", num=mean_follow_up) if mean_follow_up is not None else "–",
            _(
                "mean, of %(closed)d closed; %(open)d still open",
                closed=total.follow_ups_closed,
                open=total.open_follow_ups,
            ),
        ),  # fmt: skip
    ]


def _choices(m: Monitoring) -> dict[str, Any]:
    return {
        "hospitals": m.hospitals,
        "departments": m.departments,
        "municipalities": m.municipalities,
        "councils": m.councils,
        "agreements": m.agreements,
        "caller_kinds": CALLER_KINDS,
        "own_settings": OWN_SETTINGS,
        "presets": PRESETS,
    }


@bp.get("/dashboard")
@requires(Permission.VIEW_STATISTICS)
def dashboard() -> str:
    """Contacts for a period, per day, hospital, department, municipality, council and caller kind."""
    wanted, preset, error = parse_filters(request.args, local_date(now()))
    with session_scope() as db:
        m = monitoring(db, wanted)
    return render_template(
        "dashboard.html",
        m=m,
        f=wanted,
        preset=preset,
        error=error,
        tiles=tiles(m),
        sections=sections(m),
        legend=legend(),
        query=wanted.query(),
        **_choices(m),
    )


def table_rows(m: Monitoring, name: str) -> tuple[list[str], list[list[Any]]]:
    """One table as the exports write it: the header and the rows, the same numbers as the page."""
    found = section(m, name)
    return found.header, [[label, *cells] for label, cells in found.rows]


def _export(kind: str) -> Response:
    name = request.args.get("table", "")
    if name not in TABLES:
        abort(404)
    wanted, _preset_name, _error = parse_filters(request.args, local_date(now()))
    with session_scope() as db:
        m = monitoring(db, wanted)
    header, rows = table_rows(m, name)
    stem = f"linje72-{name}-{wanted.start.isoformat()}-{wanted.end.isoformat()}"
    if kind == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(["" if value is None else value for value in row] for row in rows)
        return Response(
            out.getvalue(),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'},
        )
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = name[:31]
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    return Response(
        data.getvalue(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{stem}.xlsx"'},
    )


@bp.get("/dashboard/export.csv")
@requires(Permission.VIEW_STATISTICS)
def dashboard_csv() -> Response:
    """One of the dashboard's tables as CSV, for the same filters."""
    return _export("csv")


@bp.get("/dashboard/export.xlsx")
@requires(Permission.VIEW_STATISTICS)
def dashboard_xlsx() -> Response:
    """One of the dashboard's tables as an Excel workbook, for the same filters."""
    return _export("xlsx")


def render_report(m: Monitoring, made: str) -> str:
    """The monthly report: the dashboard's figures, charts and tables in one file that needs nothing else."""
    return render_template(
        "report.html",
        m=m,
        f=m.filters,
        tiles=tiles(m),
        sections=sections(m),
        legend=legend(),
        made=made,
        css=Markup((STATIC / "monitoring.css").read_text(encoding="utf-8")),
    )
