"""The provider's webhooks: check the signature, run one flow step, render TwiML."""

from __future__ import annotations

import contextvars
import hashlib
import itertools
import logging
import re
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    copy_current_request_context,
    current_app,
    request,
    url_for,
)
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from twilio.twiml.voice_response import VoiceResponse

from app import logs, metrics
from app.data.db import session_scope
from app.logs import redact
from app.services import contacts, voice
from app.services import spool as outage
from ivr.flow import FINAL_CALL_STATUSES, CallFlow, Reply
from ivr.prompts import LANGUAGE_CODES, say
from ivr.security import is_signed
from ivr.twiml import render

bp = Blueprint("ivr", __name__, url_prefix="/voice")
TEST_CALL_FIELD = "Linje72TestCall"
# The provider's webhook bodies are a few hundred bytes; anything larger is refused unread.
MAX_BODY = 64 * 1024
CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")
log = logging.getLogger("linje72.ivr")
T = TypeVar("T")
# The steps whose keys the spool keeps (encrypted): a unit code, a CPR number, the read-back's answer.
KEYED_STEPS = frozenset({"caller", "patient", "confirm"})
# Refused signatures are counted (and logged), never stored one by one: a flood of them
# must not fill the database.
refused_signatures = itertools.count(1)


@bp.before_request
def guard() -> Response | None:
    """Refuse an oversized body (413) or a request the provider did not sign (403), reading nothing.

    The fallback URL alone answers without a valid signature: it touches no data and
    reveals only the fallback number, and a wrong public URL or token must not cut the
    last path to a human.
    """
    if request.content_length is None or request.content_length > MAX_BODY:
        if request.endpoint == "ivr.fallback":
            return _twiml(_emergency_twiml())
        abort(413 if request.content_length else 411, description="The body is missing or too large.")
    request.max_content_length = MAX_BODY
    if request.endpoint == "ivr.fallback":
        return None
    config = current_app.config
    tokens = [config["TWILIO_AUTH_TOKEN"], config.get("TWILIO_AUTH_TOKEN_SECONDARY")]
    if not is_signed(request, [token for token in tokens if token], config["LINJE72_PUBLIC_URL"]):
        log.warning(
            "refused request %d without a valid signature, to %s", next(refused_signatures), request.path
        )
        metrics.SECURITY_EVENTS.labels("refused_signature").inc()
        abort(403, description="The request does not carry a valid provider signature.")
    if not CALL_SID.fullmatch(request.form.get("CallSid", "")):
        abort(400, description="CallSid is missing or not a call's id.")
    # Every line logged while this webhook is handled names the call (cleared with the request).
    logs.call_sid.set(request.form["CallSid"])
    return None


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
    status, attempt = request.form.get("DialCallStatus", "failed"), _attempt()
    return _run("dial_result", lambda flow: flow.dial_result(_sid(), attempt, status))


@bp.post("/whisper")
def whisper() -> Response:
    attempt, parent = _attempt(), _parent_sid()
    return _run("whisper", lambda flow: flow.whisper(attempt, parent), callee=True)


@bp.post("/whisper-answer")
def whisper_answer() -> Response:
    attempt, parent = _attempt(), _parent_sid()
    return _run("whisper_answer", lambda flow: flow.whisper_answer(attempt, parent, _digits()), callee=True)


@bp.post("/status")
def status() -> Response:
    call_status = request.form.get("CallStatus", "")

    def close(late: threading.Event) -> None:
        with session_scope(write=True, call=True) as session:
            _flow(session).status(_sid(), _from(), call_status)
            _raise_if_late(late)

    started = time.monotonic()
    try:
        _with_deadline(close, current_app.config["POLICY"].webhook_deadline)
    except DATABASE_UNAVAILABLE:
        log.error("status callback for %s without the database:\n%s", _sid(), redact(traceback.format_exc()))
        if call_status in FINAL_CALL_STATUSES:
            duration = request.form.get("CallDuration", "")
            _spool(outage.ENDED, "status", call_status=call_status, duration=_number(duration))
        return Response("", status=204)
    except Exception:
        log.error("status callback failed for %s:\n%s", _sid(), redact(traceback.format_exc()))
        return Response("", status=500)
    finally:
        metrics.WEBHOOK_SECONDS.labels("status").observe(time.monotonic() - started)
    log.info("call %s ended: %s", _sid(), call_status)
    _drain_if_waiting()
    return Response("", status=204)


@bp.post("/message")
def message() -> Response:
    """`<Record>`'s action: the caller's message ended (or they hung up while recording)."""
    form = request.form
    recording, account = form.get("RecordingSid", ""), form.get("AccountSid", "")
    seconds = form.get("RecordingDuration", "")
    return _run("message", lambda flow: flow.message_left(_sid(), recording, account, seconds))


@bp.post("/recording")
def recording() -> Response:
    """The recording's status callback: note the message, copy it into our store, delete the provider's.

    Answers 204 within the deadline whatever the provider does: a copy or delete that fails or is
    slow is finished by the scheduler (a worker still busy at the deadline goes on in the background).
    A recording that is no unanswered call's message changes nothing. Never logs the recording's URL.
    """
    form = request.form
    if form.get("RecordingStatus", "") != "completed":
        return Response("", status=204)  # absent or failed: nothing to keep
    recording_sid, account = form.get("RecordingSid", ""), form.get("AccountSid", "")
    seconds = form.get("RecordingDuration", "")
    config = current_app.config
    deadline, now = config["POLICY"].webhook_deadline, config["CLOCK"]()
    started = time.monotonic()

    def note(late: threading.Event) -> int | None:
        with session_scope(write=True, call=True) as session:
            contact = contacts.find_contact(session, _sid())
            kept = (
                voice.note_recording(session, contact, recording_sid, account, seconds, now)
                if contact
                else None
            )
            message_id = kept.id if kept is not None else None
            _raise_if_late(late)
        return message_id

    try:
        message_id = _with_deadline(note, deadline)
    except Exception:
        log.error("recording callback failed for %s:\n%s", _sid(), redact(traceback.format_exc()))
        return Response("", status=500)
    if message_id is None:
        log.info("call %s: recording %s not kept (no unanswered call of ours)", _sid(), recording_sid[:34])
        return Response("", status=204)
    recordings, vault = current_app.extensions["linje72.recordings"], current_app.extensions["linje72.vault"]

    def copy(_late: threading.Event) -> bool:
        return voice.copy_message(
            lambda: session_scope(write=True, call=True), recordings, vault, message_id, now
        )

    try:
        done = _with_deadline(copy, deadline - (time.monotonic() - started))
    except DeadlinePassed:
        done = False
        log.info(
            "call %s: voice message %d is still being copied; the scheduler finishes it", _sid(), message_id
        )
    except Exception:
        done = False
        log.error("copying voice message %d failed:\n%s", message_id, redact(traceback.format_exc()))
    log.info(
        "call %s: voice message %d %s", _sid(), message_id, "stored" if done else "left to the scheduler"
    )
    return Response("", status=204)


@bp.post("/fallback")
def fallback() -> Response:
    """The number's fallback URL: the provider calls it when our answer failed or was late."""
    with metrics.WEBHOOK_SECONDS.labels("fallback").time():
        return _twiml(_emergency_twiml())


class DeadlinePassed(Exception):
    """The webhook's answer could not wait any longer for the database."""


# Steps run here so that the request thread can answer at the deadline whatever the
# database does; a step still waiting then is rolled back when it ends, never committed.
_workers = ThreadPoolExecutor(max_workers=32, thread_name_prefix="linje72-step")
# Errors after which the database is not asked again within the same webhook.
DATABASE_UNAVAILABLE = (DeadlinePassed, OperationalError, InterfaceError, PoolTimeout)


def _with_deadline(work: Callable[[threading.Event], T], seconds: float) -> T:
    """Run `work` in a worker with this request's context; raise DeadlinePassed after `seconds`."""
    late = threading.Event()
    # The worker thread gets this request's context, and its context variables (the CallSid the
    # log lines carry).
    context = contextvars.copy_context()
    future = _workers.submit(context.run, copy_current_request_context(work), late)
    try:
        return future.result(timeout=max(seconds, 0.05))
    except FutureTimeout:
        late.set()
        raise DeadlinePassed(f"no answer from the database within {seconds:.1f} s") from None


def _raise_if_late(late: threading.Event) -> None:
    """Leave the transaction without committing when the caller has been answered without it."""
    if late.is_set():
        raise DeadlinePassed("the answer went out without this step; rolled back")


def _run(step: str, run: Callable[[CallFlow], Reply], *, callee: bool = False) -> Response:
    """Run one step in its own transaction within the deadline; any error ends at the fallback number.

    A request the provider repeats gets the answer it got before, and changes nothing.
    Two simultaneous first webhooks of one call: the second waits for the first to store
    the call, then is answered as a repeat (one retry, on the unique call id).
    """
    started = time.monotonic()
    try:
        return _run_step(step, run, callee, started)
    finally:
        metrics.WEBHOOK_SECONDS.labels(step).observe(time.monotonic() - started)


def _run_step(step: str, run: Callable[[CallFlow], Reply], callee: bool, started: float) -> Response:
    fingerprint = _fingerprint()
    owner = _parent_sid() if callee else _sid()
    deadline = current_app.config["POLICY"].webhook_deadline
    try:
        answer = _with_deadline(lambda late: _answer(step, run, fingerprint, owner, callee, late), deadline)
    except Exception as exc:
        log.error("step %s failed for call %s:\n%s", step, _sid(), redact(traceback.format_exc()))
        if callee:
            # The callee's leg: hang it up so the caller's chain goes on to the next target.
            return _twiml(str(VoiceResponse().hangup()))
        left = deadline - (time.monotonic() - started)
        if isinstance(exc, DATABASE_UNAVAILABLE) or left < deadline / 2:
            # The database did not answer: do not wait for it again; the spool keeps the call.
            return _twiml(_outage_answer(step))
        return _twiml(_fail_safe(step, left))
    _drain_if_waiting()
    return _twiml(answer)


def _answer(
    step: str,
    run: Callable[[CallFlow], Reply],
    fingerprint: str,
    owner: str,
    callee: bool,
    late: threading.Event,
) -> str:
    for retry in (False, True):
        try:
            with session_scope(write=True, call=True) as session:
                contact = contacts.find_contact(session, owner)
                repeated = contacts.recorded_reply(contact, fingerprint) if contact else None
                if repeated is not None:
                    log.info("call %s step %s repeated: answered as before", _sid(), step)
                    return repeated
                reply = run(_flow(session))
                contact = contacts.find_contact(session, owner)
                turn = contacts.next_turn(contact) if contact is not None and not callee else None
                answer = render(reply, _url_maker(turn), current_app.config["POLICY"].voices)
                if contact is not None:
                    contacts.record_reply(contact, fingerprint, answer)
                _raise_if_late(late)
            log.info("call %s step %s%s", _sid(), step, f" {reply.log}" if reply.log else "")
            return answer
        except IntegrityError:
            if retry:
                raise
            log.info("call %s step %s met a simultaneous request; trying once more", _sid(), step)
    raise AssertionError("unreachable")


def _fingerprint() -> str:
    """Return what identifies a request: the provider's idempotency token, else its whole content."""
    token = request.headers.get("I-Twilio-Idempotency-Token")
    if token:
        return "token:" + token[:200]
    content = request.path + "?" + request.query_string.decode("latin-1") + "\n"
    content += "\n".join(f"{key}={value}" for key, value in sorted(request.form.items(multi=True)))
    return hashlib.sha256(content.encode()).hexdigest()


def _fail_safe(step: str, seconds: float) -> str:
    """Record the failure and forward to the fallback; if even that fails or is late, forward anyway."""

    def record(late: threading.Event) -> str:
        with session_scope(write=True, call=True) as session:
            reply = _flow(session).fail_safe(_sid(), _from(), f"error in step {step}")
            answer = render(reply, _url_for, current_app.config["POLICY"].voices)
            _raise_if_late(late)
        return answer

    try:
        return _with_deadline(record, seconds)
    except Exception:
        log.error("fail-safe failed for call %s:\n%s", _sid(), redact(traceback.format_exc()))
        return _outage_answer(step)


def _outage_answer(step: str) -> str:
    """Forward the caller to the fallback number without the database, and spool what we know of the call."""
    answer = _emergency_twiml()
    attempt = request.args.get("attempt", "")
    _spool(
        outage.FORWARDED,
        step,
        digits=_digits() if step in KEYED_STEPS else "",
        forwarded_to=current_app.config["POLICY"].fallback_number,
        attempt=_number(attempt),
        dial_status=request.form.get("DialCallStatus") if step == "dial_result" else None,
        test_call=request.form.get(TEST_CALL_FIELD) == "1" and step == "incoming",
    )
    return answer


def _spool(kind: str, step: str, **known: Any) -> None:
    """Keep the call in the local spool; a spool that fails is logged, never the caller's problem."""
    try:
        outage.keep(
            current_app.instance_path,
            current_app.extensions["linje72.vault"],
            current_app.config["CLOCK"](),
            kind=kind,
            call_sid=_sid(),
            step=step,
            from_number=_from(),
            **known,
        )
    except Exception:
        log.critical("could not spool call %s:\n%s", _sid(), redact(traceback.format_exc()))


# Drains run here, one at a time, never in the thread that answers the provider.
_drainer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="linje72-drain")


def _drain_if_waiting() -> None:
    """After an outage, the first webhook the database answers starts a drain of the spool."""
    if outage.take_waiting():
        _drainer.submit(drain_spool, current_app._get_current_object())  # type: ignore[attr-defined]


def wait_for_drains(timeout: float = 30) -> None:
    """Return once every drain started so far has ended (drains run one at a time, in order)."""
    _drainer.submit(lambda: None).result(timeout=timeout)


def drain_spool(app: Flask) -> outage.DrainReport | None:
    """Write this machine's spool into the database; a failure is logged and leaves the spool for later."""
    with app.app_context():
        try:
            return outage.drain(
                app.instance_path,
                lambda: session_scope(write=True),
                app.config["POLICY"],
                app.extensions["linje72.vault"],
                app.config["CLOCK"](),
            )
        except Exception:
            log.error("the spool could not be drained yet:\n%s", redact(traceback.format_exc()))
            outage.mark_waiting()
            return None


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
    """Return a step's absolute URL under the public URL (which includes any mount prefix)."""
    path = url_for(f"ivr.{step}", **params).removeprefix(request.script_root)
    return current_app.config["LINJE72_PUBLIC_URL"].rstrip("/") + path


def _url_maker(turn: int | None) -> Callable[..., str]:
    """Return a URL builder whose URLs carry the caller leg's turn (`t`), when there is one."""
    if turn is None:
        return _url_for
    return lambda step, **params: _url_for(step, **params, t=turn)


def _twiml(body: str) -> Response:
    return Response(body, mimetype="text/xml")


def _sid() -> str:
    return request.form.get("CallSid", "")


def _from() -> str | None:
    return request.form.get("From")


def _digits() -> str:
    return request.form.get("Digits", "")


def _number(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 12 else None


def _attempt() -> int:
    value = request.args.get("attempt", "")
    if not (value.isascii() and value.isdigit()) or len(value) > 12:
        abort(400, description="attempt must be a number.")
    return int(value)


def _parent_sid() -> str:
    """The caller's CallSid on a callee leg: the attempt must belong to that call."""
    parent = request.form.get("ParentCallSid", "")
    if not CALL_SID.fullmatch(parent):
        abort(400, description="ParentCallSid is missing or not a call's id.")
    return parent
