"""Discharges from the hospitals' systems (scope `discharges`), and the department's patients (`read`).

`POST /discharges` takes one discharge or a batch in the discharges file's JSON, checked by
the file's own row checks and stored whole or not at all through the one stays service
(source `rest`), upserted by the hospital's `id`. The actions on a stay (mark, extend, end)
are the console's, through the same service.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, NoReturn

from flask import current_app, g, request
from flask_smorest import abort
from sqlalchemy.orm import Session

from app.api import bp
from app.api.auth import requires_scope
from app.api.discharge_schemas import (
    DISCHARGES_BODY,
    DischargeProblemSchema,
    EndSchema,
    ExtendSchema,
    MarkSchema,
    PatientsSchema,
    StayChangedSchema,
    StoredSchema,
)
from app.api.errors import PROBLEM, problem
from app.data import queries
from app.data.db import session_scope
from app.data.models import Discharge
from app.intake.discharges import RequestProblems, as_items, read_discharge_items
from app.intake.stays import Source
from app.services import audit
from app.services.discharges import apply_discharges
from app.services.responsibility import (
    Change,
    ResponsibilityRefused,
    StayNotFound,
    StayView,
    active_patients,
    end,
    extend,
    find_stay,
    mark_target_group,
)
from app.services.rota_periods import department_exists
from app.services.stays import StayRefused
from app.values.cpr import CprVault
from app.values.times import TimeError, local_iso, parse_time
from routing import local_date

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
MAX_ITEMS = 5000
MAX_BODY = 16 * 1024 * 1024  # 5,000 discharges of about 400 bytes, with room to spare
log = logging.getLogger("linje72.discharges")


@bp.post("/discharges")
@bp.doc(
    security=BEARER,
    summary="Add or update discharges: one object, or a batch (an array) stored whole or not at all",
    description=(
        "The discharges file's JSON (docs/file-formats.md), upserted by `id`: a repeat with the same "
        "content changes nothing (`unchanged`), a changed repeat updates. A replacement CPR number (with "
        "letters) is accepted. Problems: 422 with `errors` by field path (`[3].discharged_at`, or "
        "`discharged_at` for a single discharge), never quoting a CPR number; nothing is stored then. "
        f"At most {MAX_ITEMS} discharges a request."
    ),
    requestBody=DISCHARGES_BODY,
)
@bp.response(200, StoredSchema)
@bp.alt_response(
    422,
    schema=DischargeProblemSchema,
    description="Problems to mend, by field path; nothing stored",
    content_type=PROBLEM,
)
@requires_scope("discharges")
def store() -> Any:
    now = current_app.config["CLOCK"]()
    request.max_content_length = MAX_BODY
    body = request.get_json(silent=True)
    given = as_items(body)
    if given is None:
        _refuse("body", "must be JSON: one discharge object, or an array of them")
    items, single = given
    if not items:
        _refuse("body", "an empty array: give at least one discharge")
    if len(items) > MAX_ITEMS:
        _refuse("body", f"{len(items)} discharges: at most {MAX_ITEMS} a request (send several batches)")
    vault = current_app.extensions["linje72.vault"]
    problems = RequestProblems(single)
    # Checked before the write transaction starts: calls wait on no batch's checking.
    with session_scope() as session:
        codes = set(queries.all_departments(session))
    records = read_discharge_items(items, problems, codes, local_date(now))
    if problems.errors:
        count = sum(len(messages) for messages in problems.errors.values())
        return problem(
            422,
            "Unprocessable Content",
            f"{count} problem(s) to mend; nothing was stored",
            errors=problems.errors,
        )
    with session_scope(write=True) as session:
        try:
            result = apply_discharges(session, vault, records, now, Source.REST)
        except StayRefused as exc:
            session.rollback()
            if exc.field and exc.index is not None:  # one record's field: `[3].municipality`
                where = {problems.path(exc.index, exc.field): [exc.reason]}
            else:
                where = {"body": [str(exc)]}
            return problem(422, "Unprocessable Content", "nothing was stored", errors=where)
        summary = f"{result.added} added, {result.updated} updated, {result.unchanged} unchanged"
        audit.record(
            session,
            now,
            audit.CHANGE,
            actor=f"API token {g.api_caller}",
            target="discharges",
            detail=f"{len(records)} discharge(s): {summary}",
        )
    log.info("discharges from API token %s: %d (%s)", g.api_caller, len(records), summary)
    return {
        "added": result.added,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "items": [
            {"index": index, "id": record.external_id, "result": outcome}
            for index, (record, outcome) in enumerate(zip(records, result.outcomes, strict=True))
        ],
    }


@bp.get("/departments/<code>/patients")
@bp.doc(
    security=BEARER,
    summary="The department's patients now: held, to mark, admitted (no CPR numbers; audited)",
    description=(
        "Each stay by the hospital's own `id` (which the EHR sent) and the birth date part of the CPR "
        "number (`010140-xxxx`), never the whole number: a `read` token is also given to switchboards, "
        "and the EHR already knows the patient behind its own id."
    ),
)
@bp.response(200, PatientsSchema)
@requires_scope("read")
def patients(code: str) -> Any:
    now = current_app.config["CLOCK"]()
    with session_scope(write=True) as session:
        if not department_exists(session, code):
            abort(404, message=f"no department with code {code!r}")
        found = active_patients(
            session, current_app.extensions["linje72.vault"], [code], now, current_app.config["POLICY"].window
        )
        audit.record(
            session,
            now,
            audit.VIEW,
            actor=f"API token {g.api_caller}",
            target=f"patients of {code}",
            detail=f"{len(found.active)} under responsibility, {len(found.to_mark)} to mark, "
            f"{len(found.admitted)} admitted",
        )
        return {
            "department": code,
            "at": local_iso(now),
            "active": [_patient(view) for view in found.active],
            "to_mark": [_patient(view) for view in found.to_mark],
            "admitted": [_patient(view) for view in found.admitted],
        }


@bp.post("/discharges/<external_id>/mark")
@bp.arguments(MarkSchema)
@bp.doc(security=BEARER, summary="Mark a discharge as to the target group: it then opens the window")
@bp.response(200, StayChangedSchema)
@bp.alt_response(
    422, schema=DischargeProblemSchema, description="Cannot be done, naming the field", content_type=PROBLEM
)
@requires_scope("discharges")
def mark(_body: dict[str, Any], external_id: str) -> Any:
    return _act(external_id, "mark", {})


@bp.post("/discharges/<external_id>/extend")
@bp.arguments(ExtendSchema)
@bp.doc(security=BEARER, summary="Extend the responsibility (forlængelse) to a later end, with a reason")
@bp.response(200, StayChangedSchema)
@bp.alt_response(
    422, schema=DischargeProblemSchema, description="Cannot be done, naming the field", content_type=PROBLEM
)
@requires_scope("discharges")
def extend_stay(body: dict[str, Any], external_id: str) -> Any:
    return _act(external_id, "extend", body)


@bp.post("/discharges/<external_id>/end")
@bp.arguments(EndSchema)
@bp.doc(
    security=BEARER, summary="End the responsibility early: readmitted, died or handed_over; now or at `at`"
)
@bp.response(200, StayChangedSchema)
@bp.alt_response(
    422, schema=DischargeProblemSchema, description="Cannot be done, naming the field", content_type=PROBLEM
)
@requires_scope("discharges")
def end_stay(body: dict[str, Any], external_id: str) -> Any:
    return _act(external_id, "end", body)


def _act(external_id: str, action: str, body: dict[str, Any]) -> Any:
    now = current_app.config["CLOCK"]()
    vault = current_app.extensions["linje72.vault"]
    window = current_app.config["POLICY"].window
    with session_scope(write=True) as session:
        try:
            stay = find_stay(session, None, external_id=external_id)
        except StayNotFound:
            abort(404, message="no stay with that id")
        try:
            change = _do(session, vault, stay, action, body, now, window)
        except ResponsibilityRefused as exc:
            session.rollback()
            _refuse(exc.field, exc.message)
        if change.changed:
            audit.record(
                session,
                now,
                audit.CHANGE,
                actor=f"API token {g.api_caller}",
                target=f"stay {stay.id}",
                detail=f"{stay.department.code}: {change.detail}",
            )
        return {**_patient(change.stay), "changed": change.changed}


def _do(
    session: Session,
    vault: CprVault,
    stay: Discharge,
    action: str,
    body: dict[str, Any],
    now: datetime,
    window: timedelta,
) -> Change:
    if action == "mark":
        return mark_target_group(session, vault, stay, now, window)
    if action == "extend":
        return extend(session, vault, stay, _time("until", body["until"]), body["reason"], now, window)
    at = _time("at", body["at"]) if body.get("at") else None
    return end(session, vault, stay, body["reason"], at, now, window)


def _time(name: str, text: str) -> datetime:
    try:
        return parse_time(text)
    except TimeError as exc:
        raise ResponsibilityRefused(name, str(exc)) from None


def _refuse(name: str, message: str) -> NoReturn:
    abort(422, message=f"{name}: {message}", errors={name: [message]})
    raise AssertionError("abort returns no more")  # flask-smorest's abort is untyped


def _iso(moment: datetime | None) -> str | None:
    return local_iso(moment) if moment is not None else None


def _patient(view: StayView) -> dict[str, Any]:
    return {
        "id": view.external_id,
        "department": view.department,
        "born": view.born,
        "state": view.state.value,
        "admitted_at": _iso(view.admitted_at),
        "discharged_at": _iso(view.discharged_at),
        "destination": view.destination,
        "municipality": view.municipality,
        "target_group": view.target_group,
        "until": _iso(view.until),
        "extended": view.responsibility_until is not None and view.until == view.responsibility_until,
        "ended_at": _iso(view.ended_at),
        "ended_reason": view.ended_reason,
    }
