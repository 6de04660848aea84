"""The provider's reports on the warnings we sent: an SMS's delivery, a warning call's end.

Checked exactly as the voice webhooks are (signature against the public URL, the token or
the secondary token, bounded bodies); a repeated report changes nothing. An SMS that ends
failed or undelivered becomes a call to the same number, sent after the report is stored.
"""

from __future__ import annotations

import logging
import re

from flask import Blueprint, Response, abort, current_app, request

from app.data.db import session_scope
from app.services import alerts
from ivr.security import is_signed

bp = Blueprint("delivery", __name__, url_prefix="/sms")
MAX_BODY = 64 * 1024
MESSAGE_SID = re.compile(r"(SM|MM)[0-9a-fA-F]{32}")
CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")
STATUS = re.compile(r"[a-z-]{1,20}")
log = logging.getLogger("linje72.delivery")


@bp.before_request
def guard() -> None:
    """Refuse an oversized body (413) or a request the provider did not sign (403), reading nothing."""
    if request.content_length is None or request.content_length > MAX_BODY:
        abort(413 if request.content_length else 411, description="The body is missing or too large.")
    request.max_content_length = MAX_BODY
    config = current_app.config
    tokens = [config["TWILIO_AUTH_TOKEN"], config.get("TWILIO_AUTH_TOKEN_SECONDARY")]
    if not is_signed(request, [token for token in tokens if token], config["LINJE72_PUBLIC_URL"]):
        log.warning("refused a delivery report without a valid signature, to %s", request.path)
        abort(403, description="The request does not carry a valid provider signature.")


@bp.post("/status")
def sms_status() -> Response:
    """An SMS's status callback (the Messages API's StatusCallback)."""
    return _record(request.form.get("MessageSid", ""), MESSAGE_SID, request.form.get("MessageStatus", ""))


@bp.post("/call-status")
def call_status() -> Response:
    """A warning call's status callback (the Calls API's StatusCallback)."""
    return _record(request.form.get("CallSid", ""), CALL_SID, request.form.get("CallStatus", ""))


def _record(sid: str, shape: re.Pattern[str], status: str) -> Response:
    if not shape.fullmatch(sid) or not STATUS.fullmatch(status):
        abort(400, description="The message id or status is missing or malformed.")
    error_code = request.form.get("ErrorCode", "")[:20]
    policy, clock = current_app.config["POLICY"], current_app.config["CLOCK"]
    alerting: alerts.Alerting = current_app.extensions["linje72.alerting"]
    now = clock()
    with session_scope(write=True) as session:
        replacements = alerts.record_status(session, policy, alerting, sid, status, error_code, now)
    if replacements:
        # The call goes out now; should the provider not answer, the scheduler's next round sends it.
        alerts.deliver(replacements, policy, alerting, now, lambda: session_scope(write=True))
    return Response("", status=204)
