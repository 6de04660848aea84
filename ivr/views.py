"""The provider's webhooks: check the signature, run one flow step, render TwiML."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, current_app, request, url_for
from twilio.twiml.voice_response import VoiceResponse

from app.data.db import session_scope
from app.logs import redact
from ivr.flow import CallFlow, Reply
from ivr.prompts import LANGUAGE_CODES, say
from ivr.security import is_signed
from ivr.twiml import render

bp = Blueprint("ivr", __name__, url_prefix="/voice")
TEST_CALL_FIELD = "Linje72TestCall"
log = logging.getLogger("linje72.ivr")


@bp.before_request
def check_signature() -> None:
    """Refuse (403) any request the provider did not sign; nothing is read or stored."""
    config = current_app.config
    if not is_signed(request, config["TWILIO_AUTH_TOKEN"], config["LINJE72_PUBLIC_URL"]):
        log.warning("refused an unsigned or wrongly signed request to %s", request.path)
        abort(403, description="The request does not carry a valid provider signature.")


@bp.post("/incoming")
def incoming() -> Response:
    # Only the terminal phone (`linje72 call`) sends this field, signed like every other:
    # its calls are marked as test calls, never followed up or counted.
    test_call = request.form.get(TEST_CALL_FIELD) == "1"
    return _run("incoming", lambda flow: flow.incoming(_sid(), _from(), test_call=test_call))


@bp.post("/caller")
def caller() -> Response:
    return _run("caller", lambda flow: flow.caller_code(_sid(), _from(), _digits()))


@bp.post("/patient")
def patient() -> Response:
    return _run("patient", lambda flow: flow.patient(_sid(), _from(), _digits()))


@bp.post("/confirm")
def confirm() -> Response:
    return _run("confirm", lambda flow: flow.confirm(_sid(), _from(), _digits()))


@bp.post("/dial-result")
def dial_result() -> Response:
    status = request.form.get("DialCallStatus", "failed")
    return _run("dial_result", lambda flow: flow.dial_result(_sid(), _attempt(), status))


@bp.post("/whisper")
def whisper() -> Response:
    return _run("whisper", lambda flow: flow.whisper(_attempt()), callee=True)


@bp.post("/whisper-answer")
def whisper_answer() -> Response:
    return _run("whisper_answer", lambda flow: flow.whisper_answer(_attempt(), _digits()), callee=True)


@bp.post("/status")
def status() -> Response:
    call_status = request.form.get("CallStatus", "")
    try:
        with session_scope(write=True) as session:
            _flow(session).status(_sid(), _from(), call_status)
    except Exception:
        log.error("status callback failed for %s:\n%s", _sid(), redact(traceback.format_exc()))
        return Response("", status=500)
    log.info("call %s ended: %s", _sid(), call_status)
    return Response("", status=204)


@bp.post("/fallback")
def fallback() -> Response:
    """The number's fallback URL: the provider calls it when our answer failed or was late."""
    return _twiml(_emergency_twiml())


def _run(step: str, run: Callable[[CallFlow], Reply], *, callee: bool = False) -> Response:
    """Run one step in its own transaction; an error anywhere ends at the fallback number."""
    try:
        with session_scope(write=True) as session:
            reply = run(_flow(session))
    except Exception:
        log.error("step %s failed for call %s:\n%s", step, _sid(), redact(traceback.format_exc()))
        if callee:
            # The callee's leg: hang it up so the caller's chain goes on to the next target.
            return _twiml(str(VoiceResponse().hangup()))
        return _twiml(_fail_safe(step))
    log.info("call %s step %s%s", _sid(), step, f" {reply.log}" if reply.log else "")
    return _twiml(render(reply, _url_for, current_app.config["POLICY"].voices))


def _fail_safe(step: str) -> str:
    """Record the failure and forward to the fallback; if even that fails, forward anyway."""
    try:
        with session_scope(write=True) as session:
            reply = _flow(session).fail_safe(_sid(), _from(), f"error in step {step}")
        return render(reply, _url_for, current_app.config["POLICY"].voices)
    except Exception:
        log.error("fail-safe failed for call %s:\n%s", _sid(), redact(traceback.format_exc()))
        return _emergency_twiml()


def _emergency_twiml() -> str:
    """Speak and forward to the fallback number without touching the database."""
    policy = current_app.config["POLICY"]
    response = VoiceResponse()
    response.say(say("da", "technical"), voice=policy.voices["da"], language=LANGUAGE_CODES["da"])
    response.dial(policy.fallback_number)
    return str(response)


def _flow(session: Any) -> CallFlow:
    config = current_app.config
    return CallFlow(session, config["POLICY"], current_app.extensions["linje72.vault"], config["CLOCK"]())


def _url_for(step: str, **params: Any) -> str:
    public_url = current_app.config["LINJE72_PUBLIC_URL"]
    path = url_for(f"ivr.{step}", **params)
    return public_url.rstrip("/") + path if public_url else path


def _twiml(body: str) -> Response:
    return Response(body, mimetype="text/xml")


def _sid() -> str:
    return request.form.get("CallSid", "")[:64]


def _from() -> str | None:
    return request.form.get("From")


def _digits() -> str:
    return request.form.get("Digits", "")


def _attempt() -> int:
    return int(request.args.get("attempt", "0"))
