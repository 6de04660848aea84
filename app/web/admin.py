"""The audit log for administrators: filter it, read it, export it as CSV."""

from __future__ import annotations

import io
from datetime import timedelta

from flask import Response, current_app, render_template, request
from flask_babel import gettext as _

from app.data.db import session_scope
from app.services import audit
from app.values.access import Permission
from app.web import bp
from app.web.guard import record, requires
from app.web.pages import day_start

ACTIONS = (audit.LOGIN, audit.LOGIN_FAILED, audit.LOGOUT, audit.VIEW, audit.EXPORT, audit.CHANGE)


def _filter() -> audit.AuditFilter:
    args = request.args
    until = day_start(args.get("to", ""))
    return audit.AuditFilter(
        since=day_start(args.get("from", "")),
        until=until + timedelta(days=1) if until else None,
        actor=args.get("actor", "").strip()[:254],
        action=args.get("action", "") if args.get("action", "") in ACTIONS else "",
    )


@bp.get("/audit")
@requires(Permission.VIEW_AUDIT)
def audit_log() -> str:
    with session_scope(write=True) as db:
        rows, total = audit.search(db, _filter())
        record(db, audit.VIEW, "audit log", ", ".join(f"{k}={v}" for k, v in request.args.items() if v))
        return render_template("audit.html", rows=rows, total=total, args=request.args, actions=ACTIONS)


@bp.get("/audit.csv")
@requires(Permission.VIEW_AUDIT)
def audit_export() -> Response:
    out = io.StringIO()
    with session_scope(write=True) as db:
        rows, _ = audit.search(db, _filter(), limit=100_000)
        audit.write_csv(out, rows)
        record(db, audit.EXPORT, "audit log", f"{len(rows)} events")
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=linje72-audit.csv"},
    )


@bp.get("/audit/patient")
@requires(Permission.VIEW_AUDIT)
def audit_patient_form() -> str:
    return render_template("audit_patient.html", rows=None, ref=None, error=None)


@bp.post("/audit/patient")
@requires(Permission.VIEW_AUDIT)
def audit_patient() -> str | tuple[str, int]:
    """Who saw or changed one patient's data: the CPR number comes in the form, never in a URL."""
    with session_scope(write=True) as db:
        try:
            ref, rows = audit.patient_events(
                db, current_app.extensions["linje72.vault"], request.form.get("cpr", "")
            )
        except audit.PatientSearchRefused:
            record(db, audit.VIEW, "patient audit search", "refused: no CPR number")
            error = _("That is not a CPR number: 10 digits, or a replacement number.")
            return render_template("audit_patient.html", rows=None, ref=None, error=error), 422
        record(db, audit.VIEW, "patient audit search", f"{len(rows)} events; {audit.about_patient(ref)}")
        return render_template("audit_patient.html", rows=rows, ref=ref, error=None)
