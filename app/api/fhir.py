"""The FHIR endpoint for MedCom's HospitalNotification (scope `discharges`), answered as FHIR.

`POST /api/v1/fhir/Bundle` and `POST /api/v1/fhir/$process-message` take the message Bundle
(`application/fhir+json` or `application/json`) and apply its events in one transaction:

- 200 and a MedCom acknowledgement message (a Bundle of type message whose MessageHeader's
  `response` has the received MessageHeader's id and code `ok`). The same message again
  changes nothing and gets the same acknowledgement (its id and time are the first one's).
- 422 and an acknowledgement with code `fatal-error` when a message (one with a
  MessageHeader id) cannot be applied as sent: MedCom's "no point in re-sending without
  change". The acknowledgement carries an OperationOutcome (`response.details`) with each
  issue at its element (`expression`), as MedCom requires for every code but `ok`.
- 503 and an acknowledgement with `transient-error` when the database does not answer: send
  it again later (`Retry-After`).
- 400 and a bare OperationOutcome when there is no message to acknowledge (not JSON, not a
  Bundle, no MessageHeader with an id); 401, 403, 413, 415 likewise.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, g, json, request
from sqlalchemy.exc import SQLAlchemyError

from app.api import bp
from app.api.auth import requires_scope
from app.data.db import session_scope
from app.intake.fhir import EVENT_CODE_SYSTEM, Issue, Received, received_message
from app.services.notifications import receive_notification

FHIR_JSON = "application/fhir+json"
ACCEPTED_TYPES = (FHIR_JSON, "application/json")
LONGEST_MESSAGE = 1024 * 1024  # a HospitalNotification is a few kilobytes
ACKNOWLEDGEMENT = "acknowledgement-message"
EVENT_CODES = f"http://medcomfhir.dk/fhir/dk-medcom-terminology/CodeSystem/{EVENT_CODE_SYSTEM}"
# Acknowledgement ids are derived from the acknowledged message's id, so a repeat gets the same one.
ACK_NAMESPACE = uuid.UUID("7b0c1f8e-3d52-4b7e-9a55-2f6d0c1e7a72")
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]

_DOC = {
    "security": BEARER,
    "summary": "Receive a MedCom HospitalNotification (FHIR R4 message Bundle); answer its acknowledgement",
    "description": (__doc__ or "").split("\n\n", 1)[1],
    "requestBody": {
        "required": True,
        "content": {kind: {"schema": {"type": "object"}} for kind in ACCEPTED_TYPES},
    },
    "responses": {
        "200": {
            "description": "Applied: acknowledgement `ok`",
            "content": {FHIR_JSON: {"schema": {"type": "object"}}},
        },
        "400": {"description": "No message to acknowledge: OperationOutcome"},
        "422": {"description": "Refused as sent: acknowledgement `fatal-error` with its OperationOutcome"},
        "503": {"description": "Try again later: acknowledgement `transient-error`"},
        # Its errors (no token, no scope, not found) are OperationOutcomes too, not problem details.
        "default": {
            "description": "An error: OperationOutcome",
            "content": {FHIR_JSON: {"schema": {"type": "object"}}},
        },
    },
}


@bp.route("/fhir/Bundle", methods=["POST"])
@bp.doc(**_DOC)
@requires_scope("discharges")
def fhir_bundle() -> Response:
    return _process()


@bp.route("/fhir/$process-message", methods=["POST"])
@bp.doc(**_DOC)
@requires_scope("discharges")
def fhir_process_message() -> Response:
    return _process()


def _process() -> Response:
    if request.mimetype not in ACCEPTED_TYPES:
        issue = Issue("", "not-supported", f"send the Bundle as {FHIR_JSON} (or application/json)")
        return fhir_response(415, operation_outcome([issue]))
    request.max_content_length = LONGEST_MESSAGE
    data = request.get_data()
    clock = current_app.config["CLOCK"]
    try:
        with session_scope(write=True) as session:
            now = clock()
            notified = receive_notification(
                session, current_app.extensions["linje72.vault"], data, now, actor=f"API token {g.api_caller}"
            )
            session.commit()
    except SQLAlchemyError:
        current_app.logger.exception("a HospitalNotification could not be stored")
        issue = Issue("", "transient", "the database did not answer: nothing was stored; send it again later")
        response = _answer(503, _received_or_none(data), "transient-error", [issue], clock())
        response.headers["Retry-After"] = "60"
        return response
    if notified.ok and notified.received is not None:
        return _answer(200, notified.received, "ok", [], notified.applied_at or now)
    status = 422 if notified.received is not None else 400
    return _answer(status, notified.received, "fatal-error", notified.issues, now)


def _answer(
    status: int, received: Received | None, code: str, issues: list[Issue], now: datetime
) -> Response:
    outcome = operation_outcome(issues) if issues else None
    if received is None:
        return fhir_response(status, outcome or operation_outcome([]))
    return fhir_response(status, acknowledgement(received, code, now, outcome))


def _received_or_none(data: bytes) -> Received | None:
    try:
        return received_message(json.loads(data))
    except ValueError:
        return None


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    """Return an OperationOutcome with one error issue per problem, each at its element."""
    return {
        "resourceType": "OperationOutcome",
        "id": str(uuid.uuid4()),
        "issue": [
            {
                "severity": "error",
                "code": issue.code,
                "diagnostics": issue.diagnostics,
                **({"expression": [issue.expression]} if issue.expression else {}),
            }
            for issue in issues
        ],
    }


def acknowledgement(
    received: Received, code: str, at: datetime, outcome: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Return the acknowledgement message of a received message: `ok`, `fatal-error` or `transient-error`."""
    ack_id = uuid.uuid5(ACK_NAMESPACE, f"{received.message_id} {code}")
    header_id = uuid.uuid5(ACK_NAMESPACE, f"{received.message_id} {code} header")
    header: dict[str, Any] = {
        "resourceType": "MessageHeader",
        "id": str(header_id),
        "eventCoding": {"system": EVENT_CODES, "code": ACKNOWLEDGEMENT},
        "source": {"name": "Linje 72", "endpoint": f"{_public_url()}/api/v1/fhir"},
        "response": {"identifier": received.message_id, "code": code},
    }
    if received.source_endpoint:
        header["destination"] = [{"endpoint": received.source_endpoint}]
    entries: list[dict[str, Any]] = [{"fullUrl": f"urn:uuid:{header_id}", "resource": header}]
    if outcome is not None:
        header["response"]["details"] = {"reference": f"urn:uuid:{outcome['id']}"}
        entries.append({"fullUrl": f"urn:uuid:{outcome['id']}", "resource": outcome})
    return {
        "resourceType": "Bundle",
        "id": str(ack_id),
        "type": "message",
        "timestamp": at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "entry": entries,
    }


def fhir_response(status: int, body: dict[str, Any]) -> Response:
    response = current_app.response_class(json.dumps(body, ensure_ascii=False), status=status)
    response.mimetype = FHIR_JSON
    return response


def _public_url() -> str:
    return str(current_app.config["LINJE72_PUBLIC_URL"]).rstrip("/")
