"""The follow-up worklist: the calls nobody answered, each a task to claim, call back and close with
what it led to; and what a connected call led to, from the contact log. Every view and every change
is audited with the patient's pseudonym; another department's task is a 404.
"""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from app.config import FollowUps
from app.data.db import session_scope
from app.data.models import FollowUp, User
from app.services import audit, followups
from app.values.access import ConsoleRole, Permission
from app.values.cpr import CprVault
from app.web import bp
from app.web.guard import now, record, requires, safe_next

# What a contact led to, as the pages name it (app.values.followup.RESULTS).
RESULT_LABELS = {
    "advice": _l("Advice given"),
    "medication_changed": _l("Medication changed"),
    "test_result": _l("Test result answered"),
    "video_consultation": _l("Video consultation"),
    "referred": _l("Referred to GP / 1813"),
    "subacute_appointment": _l("Sub-acute appointment"),
    "readmission": _l("Readmission"),
    "responsibility_extended": _l("Responsibility extended"),
}
# How many of the shown patients' pseudonyms the worklist's audit event names (its detail holds 500
# characters); the tasks' own pages name theirs always.
LISTED_REFS = 20


def _settings() -> FollowUps:
    settings: FollowUps = current_app.config["FOLLOW_UPS"]
    return settings


def _vault() -> CprVault:
    vault: CprVault = current_app.extensions["linje72.vault"]
    return vault


def _me(db: Session) -> User:
    user = db.get(User, current_user.user_id)
    if user is None:
        abort(403)
    return user


@bp.get("/followup")
@requires(Permission.FOLLOW_UP)
def worklist() -> str:
    """The open tasks, overdue first, and those closed in the last seven days."""
    with session_scope(write=True) as db:
        found = followups.worklist(db, current_user.visible, now(), _settings().overdue)
        refs = [t.patient_ref for t in found.open + found.closed if t.patient_ref]
        listed = " ".join(audit.about_patient(ref) for ref in dict.fromkeys(refs[:LISTED_REFS]))
        more = f" (+{len(refs) - LISTED_REFS} more)" if len(refs) > LISTED_REFS else ""
        record(
            db,
            audit.VIEW,
            "follow-up worklist",
            f"{len(found.open)} open, {len(found.closed)} closed; {listed}{more}".rstrip("; "),
        )
        return render_template(
            "followups.html", found=found, results=RESULT_LABELS, overdue=_settings().overdue, moment=now()
        )


@bp.get("/followup/<int:task_id>")
@requires(Permission.FOLLOW_UP)
def task(task_id: int) -> str:
    """One task: the call, the caller to ring back, the patient (masked), the message, and the actions."""
    with session_scope(write=True) as db:
        row = _task(db, task_id)
        _record(db, audit.VIEW, row, "seen")
        return _render(db, row)


@bp.post("/followup/<int:task_id>/cpr")
@requires(Permission.SHOW_CPR)
def task_cpr(task_id: int) -> str:
    """The task's page with the patient's full CPR number, on this explicit and audited request."""
    if not current_user.can(Permission.FOLLOW_UP):
        abort(403)
    with session_scope(write=True) as db:
        row = _task(db, task_id)
        _record(db, audit.VIEW, row, "the full CPR number shown")
        return _render(db, row, cpr=followups.full_cpr(_vault(), row))


@bp.post("/followup/<int:task_id>/claim")
@requires(Permission.FOLLOW_UP)
def claim_task(task_id: int) -> Response:
    return _act(task_id, "claim")


@bp.post("/followup/<int:task_id>/release")
@requires(Permission.FOLLOW_UP)
def release_task(task_id: int) -> Response:
    return _act(task_id, "release")


@bp.post("/followup/<int:task_id>/close")
@requires(Permission.FOLLOW_UP)
def close_task(task_id: int) -> Response:
    return _act(task_id, "close")


def _act(task_id: int, action: str) -> Response:
    """Claim, give back or close the task, audit it, and say what happened."""
    moment = now()
    result = request.form.get("result", "")
    try:
        with session_scope(write=True) as db:
            row = _task(db, task_id)
            me = _me(db)
            if action == "claim":
                if followups.claim(db, row, me, moment):
                    _record(db, audit.CHANGE, row, "taken")
                message = _("You have taken the task. Call the caller back, then close it.")
            elif action == "release":
                followups.release(db, row, me, admin=current_user.role == ConsoleRole.ADMIN)
                _record(db, audit.CHANGE, row, "given back to the worklist")
                message = _("The task is back on the worklist.")
            else:
                followups.close(db, row, me, result, moment)
                _record(db, audit.CHANGE, row, f"closed: {result}")
                message = _(
                    "The task is closed. Remember: advice given belongs in the patient's record in the EHR."
                )
    except followups.FollowUpRefused as exc:
        flash(_("Not saved: %(problem)s", problem=_refusal(exc)), "error")
        return redirect(url_for("web.task", task_id=task_id))
    flash(message, "info")
    if action == "close":
        return redirect(url_for("web.worklist"))
    return redirect(url_for("web.task", task_id=task_id))


@bp.post("/contacts/<int:contact_id>/result")
@requires(Permission.FOLLOW_UP)
def contact_result(contact_id: int) -> Response:
    """Record what a connected call led to, from the contact log; back to where the form was."""
    back = safe_next(request.form.get("next"))
    try:
        with session_scope(write=True) as db:
            try:
                contact = followups.find_taken_contact(db, current_user.visible, contact_id)
            except followups.FollowUpNotFound:
                abort(404)
            result = request.form.get("result", "")
            if followups.record_result(contact, result):
                department = contact.department.code if contact.department else "-"
                record(
                    db,
                    audit.CHANGE,
                    f"contact {contact.id}",
                    f"{department}: led to {result}; {audit.about_patient(contact.patient_ref)}".rstrip("; "),
                )
    except followups.FollowUpRefused as exc:
        flash(_("Not saved: %(problem)s", problem=_refusal(exc)), "error")
        return redirect(back)
    flash(_("Recorded what the call led to."), "info")
    return redirect(back)


def _task(db: Session, task_id: int) -> FollowUp:
    try:
        return followups.find_task(db, current_user.visible, task_id)
    except followups.FollowUpNotFound:
        abort(404)  # never another department's task, nor whether it exists


def _record(db: Session, action: str, row: FollowUp, what: str) -> None:
    department = row.department.code if row.department else "no department"
    about = audit.about_patient(row.contact.patient_ref)
    record(db, action, f"follow-up {row.id}", f"{department}: {what}; {about}".rstrip("; "))


def _render(db: Session, row: FollowUp, cpr: str | None = None) -> str:
    view = followups.view_task(db, row, now(), _settings().overdue)
    history = [
        (event.at, event.actor, _happened(event.detail))
        for event in audit.events_about(db, f"follow-up {row.id}")
    ]
    return render_template(
        "followup.html",
        task=view,
        cpr=cpr,
        results=RESULT_LABELS,
        history=history,
        mine=row.claimed_by_id == current_user.user_id,
        moment=now(),
    )


def _happened(detail: str) -> str:
    """A change of the task as its history tells it, in the page's language."""
    what = detail.split("; patient ")[0].split(": ", 1)[-1]
    if what.startswith("closed: "):
        result = what.removeprefix("closed: ")
        return _("closed it: %(result)s", result=RESULT_LABELS.get(result, result))
    words = {"taken": _("took the task"), "given back to the worklist": _("gave it back to the worklist")}
    return str(words.get(what, what))


def _refusal(exc: followups.FollowUpRefused) -> str:
    """The refusal in the page's language, naming who holds the task."""
    words = {
        "closed": _("the task is closed already"),
        "taken": _("%(who)s has taken the task", who=exc.holder),
        "holder_only": _("%(who)s has taken the task; only they can give it back", who=exc.holder),
        "not_taken": _("nobody has taken the task"),
        "result": _("choose what the call led to"),
    }
    return words[exc.reason]


@bp.app_template_filter("age")
def age(length: timedelta) -> str:
    """How long ago, e.g. '1 h 20 min' or '35 min'."""
    minutes = max(0, int(length.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    if hours >= 24:
        return _("%(days)s d %(hours)s h", days=hours // 24, hours=hours % 24)
    if hours:
        return _("%(hours)s h %(minutes)s min", hours=hours, minutes=minutes)
    return _("%(minutes)s min", minutes=minutes)
