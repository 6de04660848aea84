"""Overrides: "Dr X covers tonight instead of Dr Y", added, changed and withdrawn without a new rota."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from urllib.parse import urlencode

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from app.data.db import session_scope
from app.data.models import RotaOverride
from app.services import alerts, audit
from app.services.overrides import (
    OverrideRefused,
    OverrideRequest,
    add_override,
    change_override,
    end_override,
    find_override,
    overrides_of,
    people_on_rota,
)
from app.values.access import Permission
from app.values.phones import PhoneError, check
from app.values.times import TimeError, local_minute, parse_time
from app.web import bp
from app.web.forms import ActionForm, OverrideForm
from app.web.guard import now, record, requires
from app.web.rota import ROLES, _editable

# The choice "nobody is replaced": the cover is added in a role (a gap, or a second person).
NOBODY = "nobody"
FIELDS = ("department", "start", "end", "replaces", "role", "name", "phone", "reason")
# How far ahead the list of overrides looks.
AHEAD = timedelta(days=366)


@bp.get("/overrides")
@requires(Permission.EDIT_ROTA)
def override_list() -> str:
    """The overrides in force now or later, of the account's departments."""
    moment = now()
    with session_scope(write=True) as db:
        rows = overrides_of(db, current_user.visible, moment, moment + AHEAD)
        record(db, audit.VIEW, "overrides", f"{len(rows)} current and upcoming")
        return render_template("overrides.html", rows=rows, now=moment, action=ActionForm(formdata=None))


def _values(source: Mapping[str, str]) -> dict[str, str]:
    """The form's fields from a query or a post; the replaced person's number as the rota stores it."""
    values = {key: source.get(key, "").strip()[:200] for key in FIELDS}
    if values["replaces"] and values["replaces"] != NOBODY:
        try:
            values["replaces"] = check(values["replaces"]).number
        except PhoneError:
            pass  # the service names it: nobody with that number is on the rota
    return values


def _times(values: Mapping[str, str], errors: dict[str, str]) -> tuple[datetime | None, datetime | None]:
    found: list[datetime | None] = []
    for key in ("start", "end"):
        text = values.get(key, "").strip()
        try:
            found.append(parse_time(text) if text else None)
        except TimeError as exc:
            errors[key] = str(exc)
            found.append(None)
    return found[0], found[1]


def _form(
    db: Session, values: Mapping[str, str], errors: dict[str, str], existing: RotaOverride | None = None
) -> str:
    """The form with its choices: the departments the account edits, and the people on their rota then."""
    form = OverrideForm(formdata=None, data={key: values.get(key, "") for key in FIELDS})
    form.department.choices = _editable(db)
    start, end = _times(values, {})
    people = (
        people_on_rota(db, values.get("department", ""), start, end, current_user.visible)
        if start and end and end > start
        else []
    )
    choices = [
        (
            p.phone,
            f"{p.name or p.phone} · {_(p.role)} {local_minute(p.start_at)} – "
            f"{local_minute(p.end_at)} · {p.phone}",
        )
        for p in people
    ]
    wanted = values.get("replaces", "")
    if wanted and wanted != NOBODY and wanted not in {phone for phone, _label in choices}:
        choices.append((wanted, _("%(phone)s (not on the rota in this stretch)", phone=wanted)))
    nobody = (NOBODY, _("Nobody: add cover for a gap"))
    if choices:
        # Someone is on the rota then: make the planner say whom, rather than add a second person unasked.
        form.replaces.choices = [("", _("choose…")), *choices, nobody]
    else:
        form.replaces.choices = [nobody]
        form.replaces.data = NOBODY
    form.role.choices = [(role, _(role)) for role in ROLES]
    if people:
        record(db, audit.VIEW, "rota people", f"{values.get('department', '')} {local_minute(start)}")  # type: ignore[arg-type]
    return render_template(
        "override_form.html",
        form=form,
        errors=errors,
        existing=existing,
        people=people,
        picked=bool(start and end),
    )


@bp.route("/overrides/new", methods=["GET", "POST"])
@requires(Permission.EDIT_ROTA)
def new_override() -> str | Response | tuple[str, int]:
    """The form, prefilled from the link (an SMS to the doctor) or the timeline; then the override."""
    return _override(None)


@bp.route("/overrides/<int:override_id>/edit", methods=["GET", "POST"])
@requires(Permission.EDIT_ROTA)
def edit_override(override_id: int) -> str | Response | tuple[str, int]:
    """Change an override: the old one ends, a new one takes its place."""
    return _override(override_id)


def _prefill(existing: RotaOverride) -> dict[str, str]:
    return {
        "department": existing.department.code,
        "start": local_minute(existing.start_at).replace(" ", "T"),
        "end": local_minute(existing.end_at).replace(" ", "T"),
        "replaces": existing.replaces_phone or NOBODY,
        "role": existing.role,
        "name": existing.name,
        "phone": existing.phone,
        "reason": existing.reason,
    }


def _override(override_id: int | None) -> str | Response | tuple[str, int]:
    with session_scope(write=True) as db:
        existing = None
        if override_id is not None:
            existing = find_override(db, override_id, current_user.visible)
            if existing is None:
                abort(404)
        if request.method == "GET":
            values = _prefill(existing) if existing else _values(request.args)
            return _form(db, values, {}, existing)
        ActionForm().validate_on_submit()  # the CSRF check itself is global; this reads the form
        values = _values(request.form)
        errors: dict[str, str] = {}
        start, end = _times(values, errors)
        for key, moment in (("start", start), ("end", end)):
            if moment is None and key not in errors:
                errors[key] = _("give a date and time")
        if not values["replaces"] and start and end:
            if people_on_rota(db, values["department"], start, end, current_user.visible):
                errors["replaces"] = _("choose whom the cover stands in for, or “nobody” to cover a gap")
        if "refresh" in request.form:
            return _form(db, values, {}, existing)
        if errors or start is None or end is None:
            return _form(db, values, errors, existing), 422
        replaces = values["replaces"] if values["replaces"] != NOBODY else ""
        wanted = OverrideRequest(
            department=values["department"],
            start=start,
            end=end,
            name=values["name"],
            phone=values["phone"],
            replaces_phone=replaces or None,
            role="" if replaces else values["role"],
            reason=values["reason"],
        )
        actor, user_id, allowed = current_user.email, current_user.user_id, current_user.visible
        try:
            if existing is None:
                made = add_override(db, wanted, now(), actor=actor, user_id=user_id, allowed=allowed)
            else:
                made = change_override(
                    db, existing, wanted, now(), actor=actor, user_id=user_id, allowed=allowed
                )
        except OverrideRefused as refused:
            db.rollback()  # a change ends the old override first: keep it as it was
            return _form(db, values, {refused.field: refused.message}, existing), 422
        who = f"{made.name} {made.phone}"
        instead = (
            f"instead of {made.replaces_name or made.replaces_phone}"
            if made.replaces_phone
            else f"in a gap ({made.role})"
        )
        span = f"{local_minute(made.start_at)} to {local_minute(made.end_at)}"
        detail = f"#{made.id} {made.department.code} {span}: {who} {instead}"
        if existing is not None:
            detail += f"; replaces #{existing.id}"
        record(db, audit.CHANGE, "override", detail)
        code = made.department.code
    flash(_("Override saved: it is in force from its start. Calls ring the new person then."), "ok")
    return redirect(url_for("web.timeline", code=code))


@bp.post("/overrides/<int:override_id>/withdraw")
@requires(Permission.EDIT_ROTA)
def withdraw_override(override_id: int) -> Response:
    """End an override now: from this moment the rota answers again."""
    ActionForm().validate_on_submit()
    with session_scope(write=True) as db:
        found = find_override(db, override_id, current_user.visible)
        if found is None:
            abort(404)
        end_override(db, found, now(), actor=current_user.email)
        record(
            db, audit.CHANGE, "override", f"#{override_id} withdrawn ({found.department.code}, {found.name})"
        )
    flash(_("The override was withdrawn: the rota answers again."), "info")
    return redirect(url_for("web.override_list"))


@bp.post("/overrides/link")
@requires(Permission.EDIT_ROTA)
def send_override_link() -> Response | tuple[str, int]:
    """Send the doctor concerned an SMS with this form, prefilled: they log in and say who covers."""
    ActionForm().validate_on_submit()
    values = _values(request.form)
    errors: dict[str, str] = {}
    start, end = _times(values, errors)
    to = request.form.get("to", "").strip()
    try:
        number = check(to, allow_short=False).number
    except PhoneError as exc:
        errors["to"] = str(exc)
    if start is None or end is None or end <= start:
        errors.setdefault("start", _("give a date and time"))
    visible = current_user.visible
    if visible is not None and values["department"] not in visible:
        abort(404)
    with session_scope(write=True) as db:
        if errors or start is None or end is None:
            return _form(db, values, errors), 422
        query = {key: values[key] for key in ("department", "start", "end", "replaces") if values[key]}
        path = f"{url_for('web.new_override')}?{urlencode(query)}"
        link = current_app.config["LINJE72_PUBLIC_URL"].rstrip("/") + path
        alerting = current_app.extensions["linje72.alerting"]
        message = alerts.queue_override_link(
            db,
            alerting,
            to=number,
            department=values["department"],
            start=start,
            end=end,
            link=link,
            now=now(),
        )
        record(
            db,
            audit.CHANGE,
            "override link",
            f"SMS to {number}: {values['department']} {local_minute(start)}",
        )
        message_id = message.id
    policy = current_app.config["POLICY"]
    taken = alerts.deliver([message_id], policy, alerting, now(), lambda: session_scope(write=True))
    if taken:
        flash(_("The link was sent by SMS to %(number)s.", number=number), "ok")
    else:
        flash(
            _("The SMS to %(number)s could not be sent now (see Gap warnings for why).", number=number),
            "info",
        )
    return redirect(path)
