"""Random calls through the signed webhooks, with the invariants the provider and the callers rely on.

`CallFuzzer` holds several calls in flight against one or more app instances that share a
database (the processes behind a load balancer), posts webhooks as the provider would, and
out of turn: replays, unknown CallSids, missing and garbage fields, callee legs and dial
results of other calls, hang-ups at any point, bad signatures. Every answer is checked as
it comes (`Violation` on the first broken invariant); `finish` hangs up what is still open
and checks the database and the log. `tests/test_fuzz_calls.py` drives it with a Hypothesis
state machine, `bench/fuzz.py` with a seeded random generator.
"""

from __future__ import annotations

import itertools
import logging
import re
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from app.data.models import Contact, DialAttempt
from app.demo.data import CALLERS, PATIENTS

LINE = "+4570207272"
ACCOUNT = "AC" + "0" * 32
WITHHELD = ("anonymous", "", "+266696687", "Restricted")  # how providers show a withheld number
KNOWN = tuple(c.phone for c in CALLERS if c.phone)
UNKNOWN = ("+4522334455", "+4599999999", "+4712345678", "12345")
CALLER_KINDS = ("known", "unknown", "withheld")
CODES = tuple(f"{c.code}#" for c in CALLERS if c.code)
ACTIVE_CPRS = tuple(p.cpr for p in PATIENTS if p.active)
CPRS = tuple(p.cpr for p in PATIENTS) + (
    "1503521236",  # valid, no discharge
    "3102401234",  # 31 February: not a date
    "0101994000",  # born 2099 by the 7th digit: in the future
)
# Keys a caller may press at a prompt (with or without the finishing #), besides random ones.
KEYS = ("0", "0#", "1", "2", "3", "9", "*", "#", "", "1#", "2#", *CODES, "0000#", "99999999#") + CPRS
KEY_ALPHABET = "0123456789*#"
CALL_STATUSES = ("completed", "busy", "failed", "no-answer", "canceled", "in-progress", "ringing")
DIAL_STATUSES = ("completed", "answered", "no-answer", "busy", "failed", "canceled", "", "nonsense")
# What a caller who means it keys at each prompt: a unit code, a patient (mostly one the demo has
# active), 1 to connect or, as often, 2 for another patient (the read-back limit is reached only so).
SENSIBLE = {
    "/voice/caller": CODES,
    "/voice/patient": ACTIVE_CPRS * 3 + CPRS + ("0#",),
    "/voice/confirm": ("1", "2", "2"),
}
# Outcomes after which the caller's leg may end without a word: put through, or hung up.
OVER = ("connected", "forwarded", "abandoned")
RINGS = ("no-answer", "busy", "failed", "answer", "answer", "answer")
# The webhooks a caller's leg posts to (each answers TwiML to the caller), and a callee's.
CALLER_PATHS = ("/voice/incoming", "/voice/caller", "/voice/patient", "/voice/confirm", "/voice/dial-result")
CALLEE_PATHS = ("/voice/whisper", "/voice/whisper-answer")
ALL_PATHS = (*CALLER_PATHS, *CALLEE_PATHS, "/voice/status", "/voice/fallback")
FIELDS = ("CallSid", "From", "To", "Digits", "CallStatus", "DialCallStatus", "ParentCallSid", "AccountSid")
GARBAGE = (
    "",
    " ",
    "null",
    "-1",
    "1e309",
    "🙂" * 3,
    "<Response><Hangup/></Response>",
    "' OR 1=1 --",
    "\x00\x01\x1f",
    "\ud7ff\ufffd",
    "CA" + "0" * 32,
    "CA" + "z" * 32,
    "9" * 40,
    "A" * 3000,
)
ATTEMPT_GARBAGE = ("", "abc", "-1", "0", "1.5", "99999999999", "9" * 30, "１")
CPR_SHAPE = re.compile(r"^\d{10}$")
# A CPR number as it may be written: 10 digits, or 6 and 4 with a dash or a space between.
CPR_WRITTEN = re.compile(r"(?<!\d)(\d{6})[- ]?(\d{4})(?!\d)")
sids = (f"CA{n:032x}" for n in itertools.count(0xF022))


class Violation(AssertionError):
    """An invariant of the line did not hold."""


@dataclass
class Sent:
    """One signed request exactly as it went out, so that it can be replayed."""

    path: str
    form: dict[str, str]
    signature: str
    status: int
    body: str


@dataclass
class Call:
    """What the provider was last told to do on one call: the model the fuzzer follows."""

    sid: str
    caller: str
    gather: str | None = None  # where the caller's keys go
    redirect: str | None = None  # where silence goes
    dial: str | None = None  # the <Dial action> of the target ringing now
    whisper: str | None = None  # the <Number url> the callee's leg asks first
    attempts: list[str] = field(default_factory=list)  # attempt ids from the action URLs
    whisper_answers: dict[str, str] = field(default_factory=dict)  # attempt id -> whisper-answer URL
    last: Sent | None = None
    reached: bool = False  # the app answered a webhook of the call (so it keeps a contact)
    closed: bool = False  # a final status callback was answered
    ended: bool = False  # the caller's TwiML ended (hang-up)
    steps: int = 0


class CollectingHandler(logging.Handler):
    """Keep every record as the code logged it, before a handler's redacting filter blanks it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            text += "\n" + record.exc_text
        self.lines.append(text)


class CallFuzzer:
    """Posts webhooks to `apps` in turn (as chosen), follows the TwiML, and checks every answer."""

    def __init__(self, apps: Sequence[Flask], advance: Callable[[timedelta], None] | None = None) -> None:
        self.apps = list(apps)
        self.clients = [app.test_client() for app in self.apps]
        first = self.apps[0]
        self.public_url = first.config["LINJE72_PUBLIC_URL"].rstrip("/")
        self.validator = RequestValidator(first.config["TWILIO_AUTH_TOKEN"])
        self.sessions = first.extensions["linje72.sessions"]
        self.advance = advance
        self.calls: dict[str, Call] = {}
        self.refused: set[str] = set()  # CallSids only ever refused (400): nothing may be stored
        self.keyed: set[str] = set()
        self.requests = 0
        self.statuses: dict[int, int] = {}
        self.log = CollectingHandler()

    # --- lifecycle -----------------------------------------------------------

    def __enter__(self) -> CallFuzzer:
        # First among the root's handlers: the redacting filter on the others blanks a record in
        # place, and this one is to see what the code logged, not what the filter made of it.
        logging.getLogger().handlers.insert(0, self.log)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self.log)

    def open_calls(self) -> list[Call]:
        return [call for call in self.calls.values() if not call.closed]

    # --- the provider's moves ------------------------------------------------

    def start(self, kind: str, pick: int, process: int) -> Call:
        """A call comes in from a registered number, an unknown one, or a withheld one."""
        numbers = {"known": KNOWN, "unknown": UNKNOWN, "withheld": WITHHELD}[kind]
        call = Call(next(sids), numbers[pick % len(numbers)])
        self.calls[call.sid] = call
        self._caller_post(call, "/voice/incoming", {}, process)
        return call

    def press(self, call: Call, keys: str | None, process: int) -> None:
        """The caller keys `keys` at the prompt (None: silence, the <Redirect> after the Gather)."""
        if keys is None:
            if call.redirect:
                self._caller_post(call, call.redirect, {}, process)
            return
        if call.gather:
            self._caller_post(call, call.gather, {"Digits": keys}, process)

    def follow(self, call: Call, choices: Sequence[int], process: int) -> None:
        """Play the call on as a caller who means it: a unit code, a patient, 1 or 2, a target's answer."""
        for n in choices:
            if call.gather:
                sensible = SENSIBLE.get(_path(call.gather), KEYS)
                self.press(call, sensible[n % len(sensible)], process)
            elif call.dial:
                self.ring(call, RINGS[n % len(RINGS)], ("1", "1", "2", None)[n % 4], "completed", process)
            else:
                return

    def ring(self, call: Call, answer: str, key: str | None, dial_status: str, process: int) -> None:
        """The target rings: no answer, busy, failed, or answered (whisper, a key), then the dial ends."""
        if not call.dial:
            return
        dial, whisper = call.dial, call.whisper
        if answer == "answer" and whisper:
            body = self._callee_post(call, whisper, call.sid, {}, process)
            attempt = _query(whisper, "attempt")
            if body is not None and key is not None and attempt in call.whisper_answers:
                self._callee_post(call, call.whisper_answers[attempt], call.sid, {"Digits": key}, process)
            status = dial_status or "completed"
        else:
            status = answer
        self._caller_post(call, dial, {"DialCallStatus": status}, process)

    def stray_callee(self, call: Call, owner: Call, step: str, key: str, process: int) -> None:
        """A callee leg out of turn: an attempt of `owner` posted as `call`'s child (or its own)."""
        if not owner.attempts:
            return
        attempt = owner.attempts[-1]
        url = f"{self.public_url}/voice/{step}?attempt={attempt}"
        self._callee_post(call, url, call.sid, {"Digits": key} if step == "whisper-answer" else {}, process)

    def stray_dial_result(self, call: Call, owner: Call, dial_status: str, process: int) -> None:
        """A dial result out of turn: for `owner`'s newest attempt, posted on `call`."""
        if not owner.attempts:
            return
        url = f"{self.public_url}/voice/dial-result?attempt={owner.attempts[-1]}"
        self._caller_post(call, url, {"DialCallStatus": dial_status}, process)

    def replay(self, call: Call, process: int) -> None:
        """The provider repeats the call's last request, signature and all: the same answer."""
        sent = call.last
        if sent is None:
            return
        before = self._snapshot(call.sid)
        status, body = self._send(sent.path, sent.form, sent.signature, process)
        self._check_status(sent.path, status)
        if status != sent.status:
            raise Violation(f"a replay of {sent.path} answered {status}, first {sent.status}")
        if status == 200 and _path(sent.path) in CALLER_PATHS:
            self._check_caller_twiml(call.sid, body, over=True)
        # Answers are remembered while the call lasts; once it has ended, a late repeat hears goodbye.
        if call.closed:
            return
        if status == 200 and _path(sent.path) in CALLER_PATHS and body != sent.body:
            raise Violation(f"a replay of {sent.path} got another answer:\n{sent.body}\n---\n{body}")
        if self._snapshot(call.sid) != before:
            raise Violation(f"a replay of {sent.path} changed the call's record")

    def unknown_call(self, path: str, keys: str, process: int) -> None:
        """A webhook of the middle of a call the line has never seen."""
        call = Call(next(sids), UNKNOWN[0])
        self.calls[call.sid] = call
        url = path + ("?attempt=1" if path in ("/voice/dial-result",) else "")
        if path == "/voice/status":
            self.hang_up(call, "completed", process)
        else:
            self._caller_post(call, url, {"Digits": keys, "DialCallStatus": "no-answer"}, process)

    def garbage(
        self, call: Call, path: str, name: str, value: str | None, attempt: str | None, process: int
    ) -> None:
        """A signed webhook with one field missing (None) or garbage, or a garbage attempt number."""
        form = {**self._base(call), "Digits": "1", "DialCallStatus": "no-answer", "CallStatus": "completed"}
        if path in CALLEE_PATHS:
            form = {**form, "ParentCallSid": call.sid, "CallSid": "CA" + "e" * 32}
        if value is None:
            form.pop(name, None)
        else:
            form[name] = value
        url = path if attempt is None else f"{path}?attempt={urllib.parse.quote(attempt)}"
        sent = self._post(url, form, process)
        sid = form.get("CallSid", "")
        target = self.calls.get(sid)
        if sent.status >= 400:
            if target is None:
                self.refused.add(sid)
            return
        if path in CALLEE_PATHS:
            return
        if path == "/voice/fallback":
            self._check_caller_twiml("", sent.body, spoken_required=True)
            return
        if target is None:  # a garbage CallSid shaped like one: a call of its own from now on
            target = self.calls[sid] = Call(sid, form.get("From", ""))
        target.reached = True
        if path == "/voice/status":
            target.closed = target.closed or form.get("CallStatus") in CALL_STATUSES[:5]
            return
        self._check_caller_twiml(sid, sent.body, over=target.ended)
        self._follow(target, sent.body)

    def hang_up(self, call: Call, call_status: str, process: int) -> None:
        """The status callback: the call ended (a final status) or a progress report."""
        sent = self._post("/voice/status", {**self._base(call), "CallStatus": call_status}, process)
        call.last = sent
        if sent.status != 204:
            raise Violation(f"the status callback answered {sent.status}")
        call.reached = True
        if call_status in CALL_STATUSES[:5]:
            call.closed = True

    def bad_signature(self, call: Call, path: str, how: str, process: int) -> None:
        """A request not signed by the provider: 403, and nothing changes."""
        form = {**self._base(call), "Digits": "0101401234", "CallStatus": "completed"}
        url = self.public_url + path
        signature = {
            "none": "",
            "garbage": "bm90LWEtc2lnbmF0dXJl",
            "other token": RequestValidator("another-token").compute_signature(url, form),
            "other url": self.validator.compute_signature(self.public_url + "/voice/elsewhere", form),
            "other fields": self.validator.compute_signature(url, {**form, "Digits": "1"}),
        }[how]
        before = self._snapshot(call.sid)
        status, body = self._send(path, form, signature, process)
        if path == "/voice/fallback":
            self._check_status(path, status)
            self._check_caller_twiml("", body, spoken_required=True)
        elif status != 403:
            raise Violation(f"{path} answered {status} to a request signed {how!r}, not 403")
        if self._snapshot(call.sid) != before:
            raise Violation(f"a request to {path} signed {how!r} changed the database")

    def tick(self, minutes: int) -> None:
        """Time passes (the app's clock): a day turns into on-call time, windows close."""
        if self.advance is not None:
            self.advance(timedelta(minutes=minutes))

    # --- the end -------------------------------------------------------------

    def finish(self) -> None:
        """Hang up every open call, then check the contacts and the log."""
        for call in self.open_calls():
            self.hang_up(call, "completed", 0)
        with self.sessions() as session:
            found: dict[str, list[Contact]] = {}
            wanted = list(self.calls) + sorted(self.refused)
            for chunk in range(0, len(wanted), 500):
                for contact in session.scalars(
                    select(Contact).where(Contact.call_sid.in_(wanted[chunk : chunk + 500]))
                ):
                    found.setdefault(contact.call_sid, []).append(contact)
            for sid, call in self.calls.items():
                rows = found.get(sid, [])
                if call.reached and len(rows) != 1:
                    raise Violation(f"call {sid} left {len(rows)} contacts, not exactly one")
                for contact in rows:
                    if contact.patients_read_back > 3:
                        raise Violation(f"call {sid} read back {contact.patients_read_back} patients")
                    if call.closed and contact.outcome is None:
                        raise Violation(f"call {sid} was closed without an outcome (step {contact.step})")
            for sid in self.refused - set(self.calls):
                if found.get(sid):
                    raise Violation(f"a refused request with CallSid {sid!r} stored a contact")
        self.check_log()

    def check_log(self) -> None:
        for line in self.log.lines:
            if self._keyed_in(line):
                raise Violation(f"a keyed CPR number is in the log: {line[:300]!r}")

    def _keyed_in(self, text: str) -> bool:
        """Whether `text` holds a CPR number that was keyed: 10 digits, with a dash or a space."""
        return any(first + last in self.keyed for first, last in CPR_WRITTEN.findall(text))

    # --- posting and checking --------------------------------------------------

    def _base(self, call: Call) -> dict[str, str]:
        return {
            "CallSid": call.sid,
            "AccountSid": ACCOUNT,
            "From": call.caller,
            "To": LINE,
            "Direction": "inbound",
            "CallStatus": "in-progress",
        }

    def _caller_post(self, call: Call, url: str, extra: dict[str, str], process: int) -> None:
        sent = self._post(url, {**self._base(call), **extra}, process)
        call.last = sent
        call.steps += 1
        if sent.status == 400:
            # Refused before anything is read (a bad attempt number): the provider goes to the fallback URL.
            return
        if sent.status != 200:
            raise Violation(f"{_path(url)} answered {sent.status} on call {call.sid}")
        call.reached = True
        self._check_caller_twiml(call.sid, sent.body, over=call.ended)
        self._follow(call, sent.body)

    def _callee_post(
        self, call: Call, url: str, parent: str, extra: dict[str, str], process: int
    ) -> str | None:
        """Post a callee's leg (a CallSid of its own, the caller's as its parent); return its TwiML."""
        form = {
            "CallSid": "CA" + f"{self.requests:032x}",
            "ParentCallSid": parent,
            "AccountSid": ACCOUNT,
            "From": call.caller,
            "To": "+4540101001",
            "Direction": "outbound-dial",
            "CallStatus": "in-progress",
            **extra,
        }
        sent = self._post(url, form, process)
        if sent.status == 400:
            return None
        if sent.status != 200:
            raise Violation(f"{_path(url)} answered {sent.status} on a callee leg of {call.sid}")
        root = _twiml(sent.body)
        verbs = [verb.tag for verb in root]
        if any(tag not in ("Say", "Gather", "Redirect", "Hangup") for tag in verbs):
            raise Violation(f"a callee's leg got verbs {verbs}")
        gather = root.find("Gather")
        attempt = _query(url, "attempt")
        if gather is not None and attempt:
            call.whisper_answers[attempt] = gather.get("action", "")
        return sent.body

    def _post(self, url: str, form: dict[str, str], process: int) -> Sent:
        path = url.removeprefix(self.public_url)
        digits = form.get("Digits", "").strip().rstrip("#")
        if CPR_SHAPE.match(digits):
            self.keyed.add(digits)
        signature = self.validator.compute_signature(self.public_url + path, form)
        status, body = self._send(path, form, signature, process)
        self._check_status(path, status)
        if self._keyed_in(body):
            raise Violation(f"a keyed CPR number is in the answer to {path}: {body[:300]}")
        return Sent(path, form, signature, status, body)

    def _send(self, path: str, form: dict[str, str], signature: str, process: int) -> tuple[int, str]:
        client = self.clients[process % len(self.clients)]
        headers = {"X-Twilio-Signature": signature} if signature else {}
        response = client.post(self.public_url + path, data=form, headers=headers)
        self.requests += 1
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        return response.status_code, response.get_data(as_text=True)

    def _check_status(self, path: str, status: int) -> None:
        if status >= 500:
            raise Violation(f"{path} answered HTTP {status}")

    def _check_caller_twiml(
        self, sid: str, body: str, *, over: bool = False, spoken_required: bool = False
    ) -> None:
        """The caller hears a route: a prompt that waits for keys, a number rung, or words then goodbye."""
        root = _twiml(body)
        verbs = list(root)
        # Every call is a contact from its first answer on, not only once the status callback comes.
        if sid and self._contacts(sid) != 1:
            raise Violation(f"call {sid} has {self._contacts(sid)} contacts after an answer, not one")
        if not verbs:
            raise Violation(f"an empty answer on call {sid}: the caller would hear silence")
        last, tags = verbs[-1], [verb.tag for verb in verbs]
        said = any((say.text or "").strip() for say in root.iter("Say"))
        if last.tag == "Redirect":
            gather = verbs[-2] if len(verbs) > 1 else None
            if gather is None or gather.tag != "Gather" or not any(s.tag == "Say" for s in gather):
                raise Violation(f"a <Redirect> without a spoken <Gather> before it on call {sid}: {tags}")
        elif last.tag == "Dial":
            number = last.find("Number")
            if not ((number is not None and (number.text or "").strip()) or (last.text or "").strip()):
                raise Violation(f"a <Dial> without a number on call {sid}")
        elif last.tag == "Hangup":
            # A bare hang-up only ends a call that is over for the caller: its TwiML had already
            # ended, it was put through (the conversation is over), or the caller hung up.
            if not said and (spoken_required or not (over or self._outcome(sid) in OVER)):
                raise Violation(f"a silent <Hangup/> on call {sid}: {tags}")
        else:
            raise Violation(f"the answer on call {sid} ends in <{last.tag}>, not a route: {tags}")

    def _follow(self, call: Call, body: str) -> None:
        """Remember what the provider would do next on this call."""
        root = _twiml(body)
        gather, redirect, dial = root.find("Gather"), root.find("Redirect"), root.find("Dial")
        call.gather = gather.get("action") if gather is not None else None
        call.redirect = (redirect.text or "").strip() if redirect is not None else None
        call.dial = dial.get("action") if dial is not None else None
        number = dial.find("Number") if dial is not None else None
        call.whisper = number.get("url") if number is not None else None
        if call.dial:
            attempt = _query(call.dial, "attempt")
            if attempt and attempt not in call.attempts:
                call.attempts.append(attempt)
        call.ended = root.find("Hangup") is not None or not (call.gather or call.dial)

    def _contacts(self, sid: str) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count(Contact.id)).where(Contact.call_sid == sid)) or 0

    def _outcome(self, sid: str) -> str | None:
        with self.sessions() as session:
            return session.scalar(select(Contact.outcome).where(Contact.call_sid == sid))

    def _snapshot(self, sid: str) -> Any:
        with self.sessions() as session:
            contacts = session.scalar(select(func.count(Contact.id)))
            attempts = session.scalar(select(func.count(DialAttempt.id)))
            rows = session.execute(
                select(Contact.step, Contact.tries, Contact.patients_read_back, Contact.outcome).where(
                    Contact.call_sid == sid
                )
            ).all()
            return contacts, attempts, [tuple(row) for row in rows]


def _twiml(body: str) -> ET.Element:
    try:
        root = ET.fromstring(body)
    except ET.ParseError as error:
        raise Violation(f"not well-formed XML ({error}): {body[:300]!r}") from None
    if root.tag != "Response":
        raise Violation(f"not a TwiML document: {body[:300]!r}")
    return root


def _path(url: str) -> str:
    return urllib.parse.urlsplit(url).path


def _query(url: str, name: str) -> str | None:
    values = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get(name)
    return values[0] if values else None
