"""The department's patients: whom it holds now, a search by CPR number (a POST: never in a URL), and
a stay's page with its actions (mark, extend, end) and an explicit "show CPR number". Every view and
every change is audited; another department's stay is a 404.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from app.data.db import session_scope
from app.data.models import Discharge
from app.services import audit
from app.services.responsibility import (
    END_REASONS,
    ResponsibilityRefused,
    StayNotFound,
    active_patients,
    end,
    extend,
    find_by_cpr,
    find_stay,
    full_cpr,
    mark_target_group,
    patient_ref,
    view_stay,
)
from app.values.access import Permission
from app.values.cpr import CprVault
from app.values.times import TimeError, parse_time
from app.web import bp
from app.web.guard import now, record, requires

FIELDS = {
    "cpr": _l("CPR number"),
    "until": _l("New end"),
    "reason": _l("Reason"),
    "at": _l("Ended at"),
    "stay": _l("Stay"),
}


def _n(text: str) -> str:
    """Mark a word for the translation catalogue; the template translates it when shown."""
    return text


# Where a stay stands, as the pages name it ("active" and "over" mean other things on other pages).
STATES = {
    "active": _l("under responsibility"),
    "admitted": _l("in hospital"),
    "to_mark": _l("to mark"),
    "not_target": _l("not in the target group"),
    "ended": _l("ended early"),
    "over": _l("no responsibility now"),
    "cancelled": _l("cancelled by the hospital"),
}
# Destinations and reasons to end, as the pages name them.
WORDS = (
    _n("temporary_stay"), _n("nursing_home"), _n("home_nursing"), _n("residential"), _n("other"),
    _n("readmitted"), _n("died"), _n("handed_over"),
)  # fmt: skip


def _vault() -> CprVault:
    vault: CprVault = current_app.extensions["linje72.vault"]
    return vault


def _window() -> timedelta:
    window: timedelta = current_app.config["POLICY"].window
    return window


@bp.get("/patients")
@requires(Permission.VIEW_PATIENTS)
def patients() -> str:
    """The departments' patients under responsibility now, to mark, and admitted now."""
    with session_scope(write=True) as db:
        found = active_patients(db, _vault(), current_user.visible, now(), _window())
        record(
            db,
            audit.VIEW,
            "patients",
            f"{len(found.active)} under responsibility, {len(found.to_mark)} to mark, "
            f"{len(found.admitted)} admitted; departments={','.join(current_user.visible or ['all'])}",
        )
        return render_template("patients.html", found=found, moment=now(), results=None, states=STATES)


@bp.post("/patients/search")
@requires(Permission.VIEW_PATIENTS)
def search_patient() -> str | tuple[str, int]:
    """Find a patient's stays by full CPR number (sent in the form, so it is never in a URL)."""
    with session_scope(write=True) as db:
        try:
            results = find_by_cpr(
                db, _vault(), request.form.get("cpr", ""), current_user.visible, now(), _window()
            )
        except ResponsibilityRefused as exc:
            record(db, audit.VIEW, "patient search", f"refused: {exc.message}")
            flash(
                _("Not searched: %(field)s: %(problem)s", field=_field(exc.field), problem=exc.message),
                "error",
            )
            found = active_patients(db, _vault(), current_user.visible, now(), _window())
            page = render_template("patients.html", found=found, moment=now(), results=None, states=STATES)
            return page, 422
        found_ref = patient_ref(_vault(), find_stay(db, None, stay_id=results[0].id)) if results else ""
        record(
            db,
            audit.VIEW,
            "patient search",
            f"by CPR number: {len(results)} stay(s) found; {audit.about_patient(found_ref)}".rstrip("; "),
        )
        found = active_patients(db, _vault(), current_user.visible, now(), _window())
        return render_template("patients.html", found=found, moment=now(), results=results, states=STATES)


@bp.get("/patients/<int:stay_id>")
@requires(Permission.VIEW_PATIENTS)
def stay(stay_id: int) -> str:
    """One stay: its facts, its state as a call would find it, its history and the actions."""
    with session_scope(write=True) as db:
        row = _stay(db, stay_id)
        record(db, audit.VIEW, f"stay {row.id}", f"{row.department.code}; {_about(row)}")
        return _render_stay(db, row)


@bp.post("/patients/<int:stay_id>/cpr")
@requires(Permission.SHOW_CPR)
def show_cpr(stay_id: int) -> str:
    """The stay's page with the full CPR number, shown only on this explicit, audited request."""
    with session_scope(write=True) as db:
        row = _stay(db, stay_id)
        record(
            db,
            audit.VIEW,
            f"stay {row.id}",
            f"{row.department.code}: the full CPR number shown; {_about(row)}",
        )
        return _render_stay(db, row, cpr=full_cpr(_vault(), row))


@bp.post("/patients/<int:stay_id>/mark")
@requires(Permission.EDIT_RESPONSIBILITY)
def mark(stay_id: int) -> Response:
    return _act(stay_id, "mark")


@bp.post("/patients/<int:stay_id>/extend")
@requires(Permission.EDIT_RESPONSIBILITY)
def extend_stay(stay_id: int) -> Response:
    return _act(stay_id, "extend")


@bp.post("/patients/<int:stay_id>/end")
@requires(Permission.EDIT_RESPONSIBILITY)
def end_stay(stay_id: int) -> Response:
    return _act(stay_id, "end")


def _act(stay_id: int, action: str) -> Response:
    """Do one action on the stay, audit it, and return to its page with what happened."""
    form = request.form
    moment = now()
    try:
        with session_scope(write=True) as db:
            row = _stay(db, stay_id)
            if action == "mark":
                change = mark_target_group(db, _vault(), row, moment, _window())
            elif action == "extend":
                until = _time("until", form.get("until", ""))
                if until is None:
                    raise ResponsibilityRefused("until", "required: the new end")
                change = extend(db, _vault(), row, until, form.get("reason", ""), moment, _window())
            else:
                at = _time("at", form.get("at", ""))
                change = end(db, _vault(), row, form.get("reason", ""), at, moment, _window())
            if change.changed:
                record(
                    db,
                    audit.CHANGE,
                    f"stay {row.id}",
                    f"{row.department.code}: {change.detail}; {_about(row)}",
                )
    except ResponsibilityRefused as exc:
        flash(_("Not saved: %(field)s: %(problem)s", field=_field(exc.field), problem=exc.message), "error")
        return redirect(url_for("web.stay", stay_id=stay_id))
    messages = {
        "mark": _("Marked as in the target group."),
        "extend": _("The responsibility is extended."),
        "end": _("The responsibility is ended."),
    }
    flash(messages[action] if change.changed else _("Nothing to change: it was already so."), "info")
    return redirect(url_for("web.stay", stay_id=stay_id))


def _about(row: Discharge) -> str:
    return audit.about_patient(patient_ref(_vault(), row))


def _stay(db: Session, stay_id: int) -> Discharge:
    try:
        return find_stay(db, current_user.visible, stay_id=stay_id)
    except StayNotFound:
        abort(404)  # never another department's stay, nor whether it exists


def _render_stay(db: Session, row: Discharge, cpr: str | None = None) -> str:
    moment = now()
    view = view_stay(db, _vault(), row, moment, _window())
    history = audit.events_about(db, f"stay {row.id}")
    suggested = (view.until or moment) + timedelta(hours=24)
    return render_template(
        "stay.html",
        stay=view,
        cpr=cpr,
        moment=moment,
        history=history,
        reasons=END_REASONS,
        suggested=suggested,
        states=STATES,
    )


def _time(name: str, text: str) -> datetime | None:
    if not text.strip():
        return None
    try:
        return parse_time(text)
    except TimeError as exc:
        raise ResponsibilityRefused(name, str(exc)) from None


def _field(name: str) -> str:
    return str(FIELDS.get(name, name))


@bp.app_template_filter("left")
def left(length: timedelta | None) -> str:
    """Time left, e.g. '2 d 5 t' or '4 t 20 min' (rounded down to the minute)."""
    if length is None:
        return ""
    minutes = max(0, int(length.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(days)s d %(hours)s h", days=days, hours=hours)
    return _("%(hours)s h %(minutes)s min", hours=hours, minutes=minutes)
