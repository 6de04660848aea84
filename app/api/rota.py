"""The rota for scheduling systems: read the published shifts, replace a period, add an override,
list the versions. Writing needs the `rota` scope; reading `read` or `rota`.

Replacing a period is a PUT: the body is the whole of the department's rota for that
period, and sending it again leaves the same rota (nothing is published the second time).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NoReturn

from flask import Response, current_app, g
from flask_smorest import abort
from werkzeug.http import HTTP_STATUS_CODES

from app.api import bp
from app.api.auth import requires_scope
from app.api.errors import PROBLEM, problem
from app.api.rota_schemas import (
    OverrideInSchema,
    OverrideSchema,
    PeriodQuery,
    ProblemWithReviewSchema,
    PublishSchema,
    RotaInSchema,
    ShiftsSchema,
    VersionSchema,
    VersionsQuery,
)
from app.data.db import session_scope
from app.data.models import RotaOverride, RotaVersion
from app.intake.rota_request import FieldProblems, read_shifts
from app.services import audit
from app.services.overrides import OverrideRefused, OverrideRequest, add_override
from app.services.rota import Author, RotaRefused, RotaReview, versions
from app.services.rota_periods import SOURCE_NAME, department_exists, published_between, replace_period
from app.values.times import TimeError, local_iso, parse_time
from routing import Cover, Gap, ShiftKey

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
DEFAULT_PERIOD = timedelta(days=14)
LONGEST_READ = timedelta(days=93)
LONGEST_REPLACED = timedelta(days=366)


@bp.get("/departments/<code>/shifts")
@bp.arguments(PeriodQuery, location="query", as_kwargs=True)
@bp.doc(
    security=BEARER,
    summary="The published shifts overlapping a period, with who really covers them (overrides applied)",
)
@bp.response(200, ShiftsSchema)
@requires_scope("read", "rota")
def shifts(code: str, start: str | None = None, end: str | None = None) -> Any:
    clock = current_app.config["CLOCK"]
    since = _time("from", start) if start else clock()
    until = _time("to", end) if end else since + DEFAULT_PERIOD
    if until <= since:
        _refuse("to", "must be after from")
    if until - since > LONGEST_READ:
        _refuse("to", f"at most {LONGEST_READ.days} days after from")
    with session_scope(write=True) as session:
        found = published_between(session, code, since, until)
        if found is None:
            abort(404, message=f"no department with code {code!r}")
        assert found is not None
        audit.record(
            session,
            clock(),
            audit.VIEW,
            actor=f"API token {g.api_caller}",
            target=f"rota {code}",
            detail=f"{len(found.shifts)} shifts {local_iso(since)} to {local_iso(until)}",
        )
        return {
            "department": code,
            "start": local_iso(since),
            "end": local_iso(until),
            "shifts": [
                {
                    **_shift((p.shift.role, p.shift.start_at, p.shift.end_at, p.shift.name, p.shift.phone)),
                    "version": p.shift.version_id,
                    "covered_by": [_cover(cover) for cover in p.covered_by],
                }
                for p in found.shifts
            ],
            "covers": [_cover(cover) for cover in found.covers],
        }


@bp.put("/departments/<code>/rota")
@bp.arguments(RotaInSchema, as_kwargs=True)
@bp.doc(
    security=BEARER,
    summary="Replace the department's rota for a period (every shift in it), reviewed as an upload is",
    description=(
        "The same checks, preview and versions as the planners' upload. `dry_run` only reviews. "
        "Errors: 422 with `errors` by field path (e.g. `shifts[3].end`); warnings or gaps without "
        "`acknowledge`: 409; both carry the review, and nothing is stored. Sending the same period "
        "again publishes nothing (`published: false`, every count 0)."
    ),
)
@bp.response(200, PublishSchema)
@bp.alt_response(
    409, schema=ProblemWithReviewSchema, description="Warnings or gaps to acknowledge", content_type=PROBLEM
)
@bp.alt_response(
    422, schema=ProblemWithReviewSchema, description="Problems to mend, by field path", content_type=PROBLEM
)
@requires_scope("rota")
def replace_rota(
    code: str, start: str, end: str, shifts: Sequence[object], acknowledge: bool, dry_run: bool
) -> Any:
    now = current_app.config["CLOCK"]()
    _known(code)
    period_errors: dict[str, list[str]] = {}
    since = _maybe_time("start", start, period_errors)
    until = _maybe_time("end", end, period_errors)
    if since is not None and until is not None:
        if until <= since:
            period_errors["end"] = ["must be after start"]
        elif until - since > LONGEST_REPLACED:
            period_errors["end"] = [f"at most {LONGEST_REPLACED.days} days after start"]
    problems = FieldProblems("shifts")
    records = read_shifts(shifts, code, problems, now)
    errors = {**period_errors, **problems.errors}
    if errors:
        lines = [f"{path}: {message}" for path, messages in errors.items() for message in messages]
        return _problem(
            422, "the request has problems to mend; nothing was stored", RotaReview(errors=lines), errors
        )
    assert since is not None and until is not None
    with session_scope(write=True) as session:
        try:
            done = replace_period(
                session,
                current_app.config["POLICY"],
                code,
                since,
                until,
                records,
                now,
                Author(f"API token {g.api_caller}", "api"),
                acknowledged=acknowledge,
                dry_run=dry_run,
                read_warnings=problems.warning_lines(),
            )
        except RotaRefused as exc:
            review = exc.review or RotaReview(errors=[str(exc)])
            if not review.publishable:
                return _problem(422, str(exc), review, _by_path(review.errors))
            return _problem(409, f'{exc}: send it again with "acknowledge": true', review)
        version = done.version
        if version is not None:
            audit.record(
                session,
                now,
                audit.CHANGE,
                actor=f"API token {g.api_caller}",
                target=f"rota {code}",
                detail=f"version {version.id}: +{version.added} -{version.removed} ~{version.changed}",
            )
        return {
            "published": version is not None,
            "version": _version(version) if version is not None else None,
            "review": _review(done.review),
        }


@bp.post("/departments/<code>/overrides")
@bp.arguments(OverrideInSchema, as_kwargs=True)
@bp.doc(security=BEARER, summary="Someone covers instead of a rota person (or in a gap) for a stretch")
@bp.response(201, OverrideSchema)
@requires_scope("rota")
def override(code: str, **body: Any) -> Any:
    now = current_app.config["CLOCK"]()
    _known(code)
    errors: dict[str, list[str]] = {}
    start = _maybe_time("start", body["start"], errors)
    end = _maybe_time("end", body["end"], errors)
    if errors:
        abort(422, message="; ".join(f"{k}: {v[0]}" for k, v in errors.items()), errors=errors)
    assert start is not None and end is not None
    request = OverrideRequest(
        code,
        start,
        end,
        body["name"],
        body["phone"],
        replaces_phone=body.get("replaces_phone") or None,
        role=body["role"],
        reason=body["reason"],
    )
    with session_scope(write=True) as session:
        try:
            made = add_override(session, request, now, actor=f"API token {g.api_caller}")
        except OverrideRefused as exc:
            # The service says `replaces` for the person replaced: the request calls it replaces_phone.
            field = "replaces_phone" if exc.field == "replaces" else exc.field
            abort(422, message=f"{field}: {exc.message}", errors={field: [exc.message]})
        audit.record(
            session,
            now,
            audit.CHANGE,
            actor=f"API token {g.api_caller}",
            target=f"rota override {made.id}",
            detail=f"{code} {local_iso(made.start_at)} to {local_iso(made.end_at)}: {made.phone}",
        )
        return _override(made, code)


@bp.get("/rota/versions")
@bp.arguments(VersionsQuery, location="query", as_kwargs=True)
@bp.doc(security=BEARER, summary="The rota's publishes, newest first (the 50 newest)")
@bp.response(200, VersionSchema(many=True))
@requires_scope("read", "rota")
def rota_versions(department: str | None = None) -> Any:
    clock = current_app.config["CLOCK"]
    if department:
        _known(department)
    with session_scope(write=True) as session:
        found = versions(session, [department] if department else None)
        audit.record(
            session,
            clock(),
            audit.VIEW,
            actor=f"API token {g.api_caller}",
            target="rota versions",
            detail=f"{len(found)} versions; department={department or '-'}",
        )
        return [_version(version) for version in found]


# ---- how the answers are written ----


def _known(code: str) -> None:
    """Answer 404 for a department that does not exist."""
    with session_scope() as session:
        if not department_exists(session, code):
            abort(404, message=f"no department with code {code!r}")


def _time(name: str, text: str) -> datetime:
    try:
        return parse_time(text)
    except TimeError as exc:
        _refuse(name, str(exc))


def _maybe_time(name: str, text: str, errors: dict[str, list[str]]) -> datetime | None:
    try:
        return parse_time(text)
    except TimeError as exc:
        errors[name] = [str(exc)]
        return None


def _refuse(name: str, message: str) -> NoReturn:
    abort(422, message=f"{name}: {message}", errors={name: [message]})
    raise AssertionError("abort returns no more")  # for the type checker: flask-smorest's abort is untyped


def _problem(
    status: int, detail: str, review: RotaReview, errors: dict[str, list[str]] | None = None
) -> Response:
    title = HTTP_STATUS_CODES[status]
    more: dict[str, Any] = {"review": _review(review)}
    if errors:
        more["errors"] = errors
    return problem(status, title, detail, **more)


def _by_path(lines: Sequence[str]) -> dict[str, list[str]]:
    """The review's error lines by field path: `request: shifts[3]: start: …` → `shifts[3].start`."""
    found: dict[str, list[str]] = {}
    prefix = f"{SOURCE_NAME}: "
    for line in lines:
        place, _, rest = line.removeprefix(prefix).partition(": ")
        column, _, message = rest.partition(": ")
        if place.startswith("shifts[") and column and message:
            found.setdefault(f"{place}.{column}", []).append(message)
        else:
            found.setdefault("shifts", []).append(line.removeprefix(prefix))
    return found


def _shift(key: ShiftKey) -> dict[str, str]:
    role, start, end, name, phone = key
    return {"role": str(role), "start": local_iso(start), "end": local_iso(end), "name": name, "phone": phone}


def _cover(cover: Cover) -> dict[str, Any]:
    return {
        "role": cover.role.value,
        "start": local_iso(cover.start),
        "end": local_iso(cover.end),
        "name": cover.name,
        "phone": cover.phone,
        "override": cover.override,
    }


def _gap(gap: Gap) -> dict[str, str]:
    return {
        "department": gap.department,
        "start": local_iso(gap.start),
        "end": local_iso(gap.end),
        "period": gap.period.value,
    }


def _review(review: RotaReview) -> dict[str, Any]:
    return {
        "errors": review.errors,
        "warnings": review.warnings,
        "notes": review.notes,
        "publishable": review.publishable,
        "needs_acknowledgement": review.needs_acknowledgement,
        "departments": [
            {
                "code": p.code,
                "name": p.name,
                "start": local_iso(p.start),
                "end": local_iso(p.end),
                "shifts": p.shifts,
                "added": [_shift(key) for key in p.diff.added],
                "removed": [_shift(key) for key in p.diff.removed],
                "changed": [{"old": _shift(old), "new": _shift(new)} for old, new in p.diff.changed],
                "unchanged": p.diff.unchanged,
                "counts": {
                    "added": len(p.diff.added),
                    "removed": len(p.diff.removed),
                    "changed": len(p.diff.changed),
                },
                "gaps": [_gap(gap) for gap in p.gaps],
            }
            for p in review.departments
        ],
        "gaps": [_gap(gap) for gap in review.gaps],
    }


def _version(version: RotaVersion) -> dict[str, Any]:
    return {
        "id": version.id,
        "published_at": local_iso(version.published_at),
        "actor": version.actor,
        "source": version.source,
        "file_name": version.file_name,
        "hash": version.file_hash,
        "shifts": version.shifts,
        "added": version.added,
        "removed": version.removed,
        "changed": version.changed,
        "restored_from": version.restored_from_id,
        "departments": [
            {
                "code": part.department.code,
                "start": local_iso(part.period_start),
                "end": local_iso(part.period_end),
                "shifts": len(part.shifts),
                "added": part.added,
                "removed": part.removed,
                "changed": part.changed,
            }
            for part in version.departments
        ],
    }


def _override(row: RotaOverride, code: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "department": code,
        "role": row.role,
        "start": local_iso(row.start_at),
        "end": local_iso(row.end_at),
        "name": row.name,
        "phone": row.phone,
        "replaces_name": row.replaces_name,
        "replaces_phone": row.replaces_phone,
        "reason": row.reason,
        "created_at": local_iso(row.created_at),
        "created_by": row.created_by,
    }
