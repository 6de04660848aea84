"""The first endpoints (scope `read`): departments, who answers now, the contact log."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, render_template
from flask_smorest import abort

from app.api import bp
from app.api.auth import api_session, requires_scope
from app.api.schemas import (
    AtQuery,
    ContactPageSchema,
    ContactQuery,
    DepartmentSchema,
    FollowUpPageSchema,
    FollowUpQuery,
    OncallSchema,
)
from app.services import audit, followups
from app.services.agreements import DEFAULT_AGREEMENT
from app.services.contacts import ContactFilter
from app.services.directory import all_departments_listed, who_answers
from app.services.export import contact_page
from app.values.times import TimeError, local_iso, parse_time

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


@bp.get("/departments")
@bp.doc(security=BEARER, summary="Every department")
@bp.response(200, DepartmentSchema(many=True))
@requires_scope("read")
def departments() -> Any:
    return [
        {
            "code": d.code,
            "name": d.name,
            "hospital": d.hospital,
            "day_hours": d.day_hours,
            "day_phone": d.day_phone,
            "oncall_phone": d.oncall_phone,
            "switchboard_phone": d.switchboard_phone,
        }
        for d in all_departments_listed(api_session())
    ]


@bp.get("/departments/<code>/oncall")
@bp.arguments(AtQuery, location="query", as_kwargs=True)
@bp.doc(security=BEARER, summary="Who a call about the department's patient rings now (or at `at`), in order")
@bp.response(200, OncallSchema)
@requires_scope("read")
def oncall(code: str, at: str | None = None) -> Any:
    moment = _time("at", at) if at else current_app.config["CLOCK"]()
    rows = who_answers(api_session(), current_app.config["POLICY"], moment, [code])
    if not rows:
        abort(404, message=f"no department with code {code!r}")
    row = rows[0]
    return {
        "department": row.code,
        "at": local_iso(moment),
        "period": row.decision.period.value,
        "gap": row.gap,
        "targets": [
            {"number": t.number, "label": t.label, "name": t.name, "pool": t.pool or None}
            for t in row.decision.targets
        ],
        "agreement": row.agreement or DEFAULT_AGREEMENT,
        "nurses_first": [
            {"number": t.number, "label": t.label, "name": t.name, "pool": None} for t in row.nurses
        ],
    }


@bp.get("/contacts")
@bp.arguments(ContactQuery, location="query", as_kwargs=True)
@bp.doc(security=BEARER, summary="The contact log, oldest first, a page at a time (no CPR numbers)")
@bp.response(200, ContactPageSchema)
@requires_scope("read", write=True)
def contacts(
    page: int, per_page: int, since: str | None = None, until: str | None = None, agreement: str = ""
) -> Any:
    start = _time("since", since) if since else None
    end = _time("until", until) if until else None
    clock = current_app.config["CLOCK"]
    session = api_session()
    wanted = ContactFilter(since=start, until=end, agreement=agreement)
    items, total = contact_page(session, wanted, limit=per_page, offset=(page - 1) * per_page)
    audit.record(
        session,
        clock(),
        audit.VIEW,
        actor=f"API token {g.api_caller}",
        target="contact log",
        detail=f"page {page} of {per_page}; since={since or '-'} until={until or '-'} "
        f"agreement={agreement or '-'}",
    )
    return {"items": items, "page": page, "per_page": per_page, "total": total}


@bp.get("/followups")
@bp.arguments(FollowUpQuery, location="query", as_kwargs=True)
@bp.doc(security=BEARER, summary="The call-back tasks, oldest first, a page at a time (no CPR numbers)")
@bp.response(200, FollowUpPageSchema)
@requires_scope("read", write=True)
def follow_up_list(
    status: str, page: int, per_page: int, department: str = "", since: str | None = None
) -> Any:
    start = _time("since", since) if since else None
    now = current_app.config["CLOCK"]()
    session = api_session()
    tasks, total = followups.tasks_page(
        session,
        None,
        now,
        current_app.config["FOLLOW_UPS"].overdue,
        department=department,
        status=status,
        since=start,
        limit=per_page,
        offset=(page - 1) * per_page,
    )
    refs = " ".join(dict.fromkeys(audit.about_patient(t.patient_ref) for t in tasks if t.patient_ref))
    audit.record(
        session,
        now,
        audit.VIEW,
        actor=f"API token {g.api_caller}",
        target="follow-up list",
        detail=f"page {page} of {per_page}; department={department or '-'} status={status}; {refs}",
    )
    public_url = current_app.config["LINJE72_PUBLIC_URL"].rstrip("/")
    items = [
        {
            "id": t.id,
            "opened_at": local_iso(t.opened_at),
            "department": t.department,
            "caller_organisation": t.caller_organisation,
            "caller_kind": t.caller_kind,
            "callback_number": t.callback_number,
            "patient_born": t.patient,
            "patient_ref": t.patient_ref,
            "voice_message": t.message_seconds is not None,
            "overdue": t.overdue,
            "claimed_by": t.claimed_by,
            "claimed_at": local_iso(t.claimed_at) if t.claimed_at else None,
            "closed_by": t.closed_by,
            "closed_at": local_iso(t.closed_at) if t.closed_at else None,
            "result": t.result,
            "link": f"{public_url}/followup/{t.id}",
        }
        for t in tasks
    ]
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def _time(name: str, text: str) -> Any:
    try:
        return parse_time(text)
    except TimeError as exc:
        abort(422, message=f"{name}: {exc}", errors={name: [str(exc)]})


@bp.get("/docs")
@bp.doc(summary="This document, to read in a browser")
def docs() -> str:
    spec = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    return render_template("api_docs.html", spec=spec)
