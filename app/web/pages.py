"""The console's pages: "who answers now" and the contact log."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from app.data.db import session_scope
from app.services import audit
from app.services.agreements import DEFAULT_AGREEMENT, agreement_names
from app.services.contacts import COUNT_CAP, ContactFilter, contact_log
from app.services.directory import hospitals, who_answers
from app.values.access import Permission
from app.values.times import TimeError, local_minute, parse_time
from app.web import bp
from app.web.coverage import gaps_ahead
from app.web.followup import RESULT_LABELS
from app.web.guard import now, record, requires
from routing import Route
from routing.calendar import COPENHAGEN

PAGE_SIZE = 50
OUTCOMES = ("connected", "forwarded", "unanswered", "abandoned")


@bp.get("/")
@requires(Permission.VIEW_ONCALL)
def front() -> str:
    """Who answers now: each department's period and the numbers a call would ring, in order."""
    moment, at_text, error = _moment(request.args.get("at", ""))
    hospital = request.args.get("hospital", "")
    with session_scope(write=True) as db:
        rows = who_answers(db, current_app.config["POLICY"], moment, current_user.visible, hospital)
        names = hospitals(db)
        agreements = agreement_names(db)
        # The gaps ahead come first: a night nobody covers must be seen in the morning, not at night.
        ahead, until = (
            gaps_ahead(db, current_user.visible) if current_user.can(Permission.VIEW_COVERAGE) else ([], None)
        )
        record(db, audit.VIEW, "who answers now", f"at={local_minute(moment)} hospital={hospital or '-'}")
    return render_template(
        "oncall.html",
        rows=rows,
        hospitals=names,
        hospital=hospital,
        at=at_text,
        moment=moment,
        error=error,
        warnings=ahead,
        until=until,
        agreements=agreements,
    )


def _moment(text: str) -> tuple[datetime, str, str]:
    """The time picker's moment (local time), or now; an unplaceable time is shown as an error."""
    if not text:
        return now(), "", ""
    try:
        return parse_time(text), text, ""
    except TimeError as exc:
        return now(), text, str(exc)


@bp.get("/contacts")
@requires(Permission.VIEW_CONTACTS)
def contacts() -> str:
    """The contact log: every call, newest first, with its attempts; patients by pseudonym only."""
    args = request.args
    department = args.get("department", "")
    visible = current_user.visible
    if department and visible is not None and department not in visible:
        abort(404)  # never another department's data, nor whether it exists
    since, until = day_start(args.get("from", "")), day_start(args.get("to", ""))
    wanted = ContactFilter(
        since=since,
        until=until + timedelta(days=1) if until else None,
        hospital=args.get("hospital", ""),
        department=department,
        route=args.get("route", ""),
        outcome=args.get("outcome", ""),
        caller=args.get("caller", "").strip()[:100],
        agreement=args.get("agreement", "")[:16],
    )
    page = max(1, args.get("page", 1, type=int) or 1)
    with session_scope(write=True) as db:
        rows, total = contact_log(db, wanted, visible, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        names = hospitals(db)
        agreements = agreement_names(db)
        shown = ", ".join(f"{k}={v}" for k, v in args.items() if v)
        record(db, audit.VIEW, "contact log", f"{len(rows)} of {total}; {shown or 'no filter'}")
        return render_template(
            "contacts.html",
            rows=rows,
            total=total,
            page=page,
            pages=max(1, -(-min(total, COUNT_CAP) // PAGE_SIZE)),
            args=args,
            hospitals=names,
            departments=visible,
            routes=[route.value for route in Route],
            outcomes=OUTCOMES,
            cap=COUNT_CAP,
            agreements=agreements,
            default_agreement=DEFAULT_AGREEMENT,
            results=RESULT_LABELS,
        )


def day_start(text: str) -> datetime | None:
    """A date from the filter (YYYY-MM-DD, local), as the moment it starts; None when not given."""
    try:
        day = datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return None
    return day.replace(tzinfo=COPENHAGEN)


@bp.errorhandler(403)
def forbidden(_error: Exception) -> tuple[str, int]:
    return (
        render_template(
            "error.html",
            code=403,
            title=_("Not for your role"),
            message=_("Your account may not see this page. Ask an administrator if you need it."),
        ),
        403,
    )


@bp.errorhandler(404)
def not_found(_error: Exception) -> tuple[str, int]:
    return render_template(
        "error.html", code=404, title=_("Not found"), message=_("There is nothing here.")
    ), 404
