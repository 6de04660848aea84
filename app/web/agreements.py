"""The regional agreements, for admins: the list, a form to add or change one (audited), delete."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from app.data.db import session_scope
from app.data.models import Department
from app.intake.agreements import check_agreement
from app.services import audit
from app.services.agreements import (
    AgreementRefused,
    all_agreements,
    delete_agreement,
    departments_under,
    find_agreement,
    record_of,
    save_agreement,
)
from app.values.access import Permission
from app.values.days import show_closed_days, show_half_days
from app.web import bp
from app.web.forms import ActionForm
from app.web.guard import record, requires

TEXT = ("code", "name", "line_name", "after_hours_number", "fallback_number", "day_hours")
NUMBERS = ("window_hours", "short_stay_hours", "min_age")
FLAGS = ("nursing_home_short_stays", "psychiatry")
DAYS = ("municipalities", "closed_days", "half_days")
# What each field must hold, shown next to it when the check refuses it (the check's own words are
# the TOML file's, in English; these are the form's, translated).
EXPECTED = {
    "code": _l("Letters, digits and dashes, at most 16 (e.g. SJ)."),
    "name": _l("Give the agreement's name."),
    "line_name": _l("The name the prompts give the line, at most 60 characters."),
    "window_hours": _l("A whole number of hours, at least 1."),
    "short_stay_hours": _l("A whole number of hours, 0 or more."),
    "min_age": _l("A whole number of years, or empty for every age."),
    "municipalities": _l("Municipality names, one a line or separated by commas."),
    "after_hours_number": _l(
        "A full phone number of the professionals' after-hours line (8 digits), "
        "not a short number such as 1813."
    ),
    "fallback_number": _l("A full phone number (8 digits) that is always staffed."),
    "day_hours": _l("Opening hours as HH:MM-HH:MM, e.g. 08:00-15:00, or empty for the deployment's."),
    "closed_days": _l("Days as MM-DD separated by spaces, e.g. 12-24 12-31."),
    "half_days": _l("A day and when on-call time starts, as MM-DD HH:MM, one a line, e.g. 06-05 12:00."),
}


@bp.get("/agreements")
@requires(Permission.MANAGE_AGREEMENTS)
def agreements() -> str:
    """Every agreement with the departments under it; the deployment's own settings first, read-only."""
    policy = current_app.config["POLICY"]
    with session_scope() as db:
        rows = [(row, [_own(d) for d in departments]) for row, departments in all_agreements(db)]
        default = [_own(d) for d in departments_under(db, None)]
        return render_template(
            "agreements.html",
            rows=rows,
            default=default,
            policy=policy,
            closed=show_closed_days([f"{m:02d}-{d:02d}" for m, d in policy.calendar.closed_days]),
            action=ActionForm(formdata=None),
            half_text=show_half_days,
        )


@bp.route("/agreements/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_AGREEMENTS)
def new_agreement() -> str | Response | tuple[str, int]:
    return _agreement(None)


@bp.route("/agreements/<code>/edit", methods=["GET", "POST"])
@requires(Permission.MANAGE_AGREEMENTS)
def edit_agreement(code: str) -> str | Response | tuple[str, int]:
    return _agreement(code)


def _agreement(code: str | None) -> str | Response | tuple[str, int]:
    with session_scope(write=True) as db:
        existing = find_agreement(db, code) if code is not None else None
        if code is not None and existing is None:
            abort(404)
        under = [_own(d) for d in departments_under(db, code)] if code else []
        if request.method == "GET":
            shown = _shown(asdict(record_of(existing))) if existing else {"line_name": "72-timers-linjen"}
            return render_template("agreement_form.html", values=shown, errors={}, code=code, under=under)
        ActionForm().validate_on_submit()  # the CSRF check itself is global; this reads the form
        values: dict[str, Any] = {
            key: request.form.get(key, "").strip()[:2000] for key in (*TEXT, *NUMBERS, *DAYS)
        }
        values.update({key: request.form.get(key) == "1" for key in FLAGS})
        if code is not None:
            values["code"] = code
        errors: dict[str, str] = {}
        if code is None and find_agreement(db, values["code"]) is not None:
            errors["code"] = _("An agreement %(code)s exists already: change that one.", code=values["code"])

        def problem(key: str, _message: str) -> None:
            errors.setdefault(key, str(EXPECTED[key]))

        checked = check_agreement(values["code"], _table(values), problem)
        if errors:
            return render_template(
                "agreement_form.html", values=values, errors=errors, code=code, under=under
            ), 422
        saved = save_agreement(db, checked)
        if saved.changes:  # a save that changes nothing is no change to record
            what = "added" if saved.added else "changed"
            record(db, audit.CHANGE, f"agreement {checked.code}", f"{what}: " + "; ".join(saved.changes))
    if saved.changes:
        flash(_("Agreement %(code)s saved. Calls follow it from now on.", code=checked.code), "ok")
    else:
        flash(_("Nothing changed in %(code)s.", code=checked.code), "info")
    return redirect(url_for("web.agreements"))


@bp.post("/agreements/<code>/delete")
@requires(Permission.MANAGE_AGREEMENTS)
def remove_agreement(code: str) -> Response:
    ActionForm().validate_on_submit()
    try:
        with session_scope(write=True) as db:
            delete_agreement(db, code)
            record(db, audit.CHANGE, f"agreement {code}", "deleted")
    except AgreementRefused:
        with session_scope() as db:
            if find_agreement(db, code) is None:
                abort(404)
            names = ", ".join(d.code for d in departments_under(db, code))
        flash(
            _(
                "%(code)s was not deleted: departments still run under it (%(names)s). "
                "Give them another agreement in departments.csv first.",
                code=code,
                names=names,
            ),
            "error",
        )
        return redirect(url_for("web.agreements"))
    flash(_("Agreement %(code)s deleted.", code=code), "ok")
    return redirect(url_for("web.agreements"))


def _own(department: Department) -> tuple[str, str, str]:
    """A department's code and its own closed days and half days (on top of its agreement's)."""
    return department.code, show_closed_days(department.closed_days), show_half_days(department.half_days)


def _table(values: Mapping[str, Any]) -> dict[str, Any]:
    """The form's text as the agreement check reads a TOML table: numbers as numbers, empty as absent."""
    table: dict[str, Any] = {}
    for key, value in values.items():
        if key == "code":
            continue
        if key in NUMBERS:
            if value == "" and key == "min_age":
                continue
            table[key] = int(value) if re.fullmatch(r"\d{1,6}", value) else value
        elif key == "day_hours" and value == "":
            continue
        else:
            table[key] = value
    return table


def _shown(stored: Mapping[str, Any]) -> dict[str, Any]:
    """A stored agreement's values as the form shows them."""
    values = dict(stored)
    values["municipalities"] = "\n".join(stored["municipalities"])
    values["closed_days"] = show_closed_days(stored["closed_days"])
    values["half_days"] = "\n".join(f"{day} {at}" for day, at in sorted(stored["half_days"].items()))
    for key in (*NUMBERS, "day_hours"):
        values[key] = "" if stored[key] is None else str(stored[key])
    return values
