"""One error responder for the API: RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from werkzeug.exceptions import HTTPException

PROBLEM = "application/problem+json"
# The FHIR endpoint answers its errors as FHIR does: an OperationOutcome (application/fhir+json).
FHIR_PREFIX = "/api/v1/fhir/"
FHIR_ISSUE_TYPES = {401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported", 413: "too-long"}


def problem(status: int, title: str, detail: str = "", **more: Any) -> Response:
    """Return a problem details response; `more` adds members such as `errors`."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "instance": request.path}
    if detail:
        body["detail"] = detail
    body.update(more)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM
    return response


def http_problem(error: HTTPException) -> Response | HTTPException:
    """Problem details for an error under /api/; any other page keeps its own error page."""
    if not request.path.startswith("/api/"):
        return error
    data = getattr(error, "data", None) or {}
    if request.path.startswith(FHIR_PREFIX):
        return _fhir_problem(error, data)
    extra: dict[str, Any] = {}
    errors = data.get("errors") or data.get("messages")
    if isinstance(errors, dict):
        # webargs nests validation errors by location (query, json): the field paths are inside.
        errors = errors.get("query", errors.get("json", errors))
    status = error.code or 500
    detail = data.get("message") or (error.description if status != 500 else "")
    if isinstance(errors, dict):
        extra["errors"] = by_path(errors)
    elif errors:
        # About the body as a whole (not JSON at all): no field to name, so it is the detail.
        detail = "; ".join(str(message) for message in errors)
    response = problem(status, error.name, detail or "", **extra)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="linje72"'
    return response


def by_path(errors: dict[Any, Any], prefix: str = "") -> dict[str, list[str]]:
    """Flatten nested validation errors to one list of messages per field path (`shifts[3].start`),
    the shape the document gives `errors`."""
    found: dict[str, list[str]] = {}
    for key, value in errors.items():
        name = str(key)
        path = f"{prefix}[{name}]" if name.isdigit() else f"{prefix}.{name}" if prefix else name
        if isinstance(value, dict):
            found.update(by_path(value, path))
        else:
            messages = value if isinstance(value, list) else [value]
            found[path or "_schema"] = [str(message) for message in messages]
    return found


def _fhir_problem(error: HTTPException, data: dict[str, Any]) -> Response:
    status = error.code or 500
    detail = data.get("message") or (error.description if status != 500 else "") or error.name
    body = {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": "error", "code": FHIR_ISSUE_TYPES.get(status, "exception"), "diagnostics": detail}
        ],
    }
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/fhir+json"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="linje72"'
    return response
