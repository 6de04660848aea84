"""The gap warnings page: a department's alert numbers (add, remove) and the warnings sent to them."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from app.data.db import session_scope
from app.services import audit
from app.services.alerts import department_alerts
from app.services.planner_phones import PlannerPhoneRefused, add_planner_phone, remove_planner_phone
from app.values.access import Permission
from app.web import bp
from app.web.guard import now, record, requires

FIELDS = {"department": _l("Department"), "number": _l("Number"), "name": _l("Name")}


def _n(text: str) -> str:
    """Mark a word for the translation catalogue; the template translates it when shown."""
    return text


# Why a warning went out, and its delivery as the provider reports it.
WORDS = (
    _n("gap"), _n("gap_near"), _n("gap_grown"), _n("gap_covered"),
    _n("queued"), _n("accepted"), _n("sending"), _n("sent"), _n("delivered"), _n("undelivered"),
    _n("failed"), _n("read"), _n("canceled"), _n("not_sent"), _n("initiated"), _n("ringing"),
    _n("in-progress"), _n("completed"), _n("busy"), _n("no-answer"),
)  # fmt: skip


@bp.get("/alerts")
@requires(Permission.MANAGE_ALERTS)
def alerts() -> str:
    """The visible departments' alert numbers, their gap alerts and each warning's delivery."""
    with session_scope(write=True) as db:
        rows = department_alerts(db, current_user.visible, now())
        record(db, audit.VIEW, "gap warnings", f"{len(rows)} department(s)")
        return render_template("alerts.html", rows=rows, moment=now())


@bp.post("/alerts/numbers")
@requires(Permission.MANAGE_ALERTS)
def add_number() -> Response:
    form = request.form
    code = form.get("department", "")
    try:
        with session_scope(write=True) as db:
            added = add_planner_phone(
                db,
                code,
                form.get("number", ""),
                name=form.get("name", ""),
                mobile=form.get("landline") != "1",
                allowed=current_user.visible,
            )
            how = "SMS" if added.phone.mobile else "call"
            record(db, audit.CHANGE, f"alert numbers of {code}", f"added {added.phone.phone} ({how})")
            number = added.phone.phone
    except PlannerPhoneRefused as exc:
        flash(
            _(
                "Not added: %(field)s: %(problem)s",
                field=str(FIELDS.get(exc.field, exc.field)),
                problem=exc.message,
            ),
            "error",
        )
        return redirect(url_for("web.alerts"))
    flash(_("%(number)s now hears of the gaps of %(code)s.", number=number, code=code), "ok")
    if added.warning:
        flash(added.warning, "warning")
    return redirect(url_for("web.alerts"))


@bp.post("/alerts/numbers/remove")
@requires(Permission.MANAGE_ALERTS)
def remove_number() -> Response:
    code = request.form.get("department", "")
    try:
        with session_scope(write=True) as db:
            row = remove_planner_phone(db, code, request.form.get("number", ""), allowed=current_user.visible)
            record(db, audit.CHANGE, f"alert numbers of {code}", f"removed {row.phone}")
            number = row.phone
    except PlannerPhoneRefused:
        abort(404)  # never another department's numbers, nor whether they exist
    flash(_("%(number)s no longer hears of the gaps of %(code)s.", number=number, code=code), "ok")
    return redirect(url_for("web.alerts"))
