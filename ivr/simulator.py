"""A telephony provider in miniature: plays TwiML the way Twilio does, against the app.

`play_call` posts signed webhooks through the Flask test client, follows
`<Gather action>`, `<Redirect>`, `<Dial action>` and `<Record action>`, plays each
`<Number url>` whisper as the callee, and posts a recording's status callback once the
call has ended. A `Phone` decides what the caller keys in, whether they leave a message,
and how each callee answers: `TerminalPhone` asks a person (`linje72 call`),
`ScriptedPhone` follows a script (the tests).
"""

from __future__ import annotations

import secrets
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask import Flask
from twilio.request_validator import RequestValidator

from ivr.views import TEST_CALL_FIELD

HANGUP = "hangup"
BASE_URL = "http://localhost"
LINE_NUMBER = "+4570207272"


class Phone(Protocol):
    def hear(self, text: str) -> None: ...
    def keys(self, expected: str) -> str | None: ...
    def ring(self, number: str) -> str: ...
    def callee_hears(self, number: str, text: str) -> None: ...
    def callee_key(self, number: str) -> str | None: ...
    def connected(self, number: str) -> None: ...
    def record(self, action: str) -> int | str | None: ...


class RecordingStore(Protocol):
    """Where the provider keeps what `<Record>` recorded (the tests' stand-in of its REST API)."""

    def store_recording(self, account_sid: str, recording_sid: str, seconds: int) -> bytes: ...


@dataclass
class Ring:
    number: str
    answer: str  # answer, no-answer, busy, failed
    whisper: list[str] = field(default_factory=list)
    key: str | None = None
    dial_status: str = ""


@dataclass
class CallTrace:
    """What happened on a call, as the caller and the callees experienced it."""

    call_sid: str
    said: list[str] = field(default_factory=list)
    rings: list[Ring] = field(default_factory=list)
    connected_to: str | None = None
    http_statuses: list[int] = field(default_factory=list)
    # Messages the caller left: the recording's id, and its status callback still to be posted.
    recordings: list[str] = field(default_factory=list)
    callbacks: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    @property
    def rung(self) -> list[str]:
        return [ring.number for ring in self.rings]

    @property
    def text(self) -> str:
        return " ".join(self.said)


class HttpResponse:
    def __init__(self, status_code: int, body: str) -> None:
        self.status_code = status_code
        self.body = body

    def get_data(self, as_text: bool = True) -> str:
        return self.body


class HttpClient:
    """Posts to a server over HTTP, with the test client's `post` signature."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def post(self, url: str, data: dict[str, str], headers: dict[str, str]) -> HttpResponse:
        request = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode(), headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return HttpResponse(response.status, response.read().decode())
        except urllib.error.HTTPError as error:
            return HttpResponse(error.code, error.read().decode())


class Provider:
    """Signs and posts webhooks as the provider does, to one or more app processes in turn."""

    def __init__(self, clients: list[Any], auth_token: str, base_url: str | None = None) -> None:
        self.clients = clients
        self.validator = RequestValidator(auth_token)
        self.base_url = base_url
        self.sent = 0

    def post(self, url: str, params: dict[str, str]) -> tuple[int, str]:
        """Sign `url` as the public URL the provider knows, and send it to the next process."""
        client = self.clients[self.sent % len(self.clients)]
        self.sent += 1
        public = (self.base_url or BASE_URL).rstrip("/")
        path = url
        if url.startswith("http"):
            parts = urllib.parse.urlsplit(url)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
        signed = public + path
        # Behind a load balancer each process has its own address; the signature is the public URL's.
        target = getattr(client, "base_url", None)
        signature = self.validator.compute_signature(signed, params)
        response = client.post(
            (target + path) if target else signed, data=params, headers={"X-Twilio-Signature": signature}
        )
        return response.status_code, response.get_data(as_text=True)


def play_call(
    app: Flask,
    from_number: str,
    phone: Phone,
    *,
    call_sid: str | None = None,
    max_steps: int = 200,
    other_processes: Iterable[Flask] = (),
    clients: list[Any] | None = None,
    test_call: bool = False,
    recordings: RecordingStore | None = None,
) -> CallTrace:
    """Play one whole call from `/voice/incoming` to the status callback.

    With `other_processes`, consecutive webhooks go to the apps in turn, as they
    would to the worker processes behind a load balancer; `clients` replaces the
    in-process test clients (e.g. with `HttpClient` for a server on loopback). With
    `test_call`, the first webhook says so and the contact is marked as a test call.
    A message the caller leaves is kept in `recordings`, and its status callback is
    posted after the call's (the provider finishes a recording after the call).
    """
    if clients is None:
        clients = [app.test_client()] + [other.test_client() for other in other_processes]
    provider = Provider(clients, app.config["TWILIO_AUTH_TOKEN"], app.config.get("LINJE72_PUBLIC_URL"))
    sid = call_sid or "CA" + secrets.token_hex(16)
    trace = CallTrace(sid)
    base = {
        "CallSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": from_number,
        "To": LINE_NUMBER,
        "Direction": "inbound",
        "CallStatus": "in-progress",
    }

    def post(url: str, extra: dict[str, str] | None = None) -> list[ET.Element]:
        status, body = provider.post(url, {**base, **(extra or {})})
        trace.http_statuses.append(status)
        if status != 200:
            raise CallFailed(f"{url} answered HTTP {status}")
        return list(ET.fromstring(body))

    try:
        verbs = post("/voice/incoming", {TEST_CALL_FIELD: "1"} if test_call else None)
        steps = 0
        while verbs and steps < max_steps:
            steps += 1
            verbs = _caller_turn(verbs, post, provider, base, phone, trace, recordings)
    except CallerHungUp:
        pass
    provider.post("/voice/status", {**base, "CallStatus": "completed"})
    for url, fields in trace.callbacks:
        status, _ = provider.post(url, fields)
        trace.http_statuses.append(status)
    return trace


class CallerHungUp(Exception):
    pass


class CallFailed(Exception):
    pass


Post = Callable[..., list[ET.Element]]


def _caller_turn(
    verbs: list[ET.Element],
    post: Post,
    provider: Provider,
    base: dict[str, str],
    phone: Phone,
    trace: CallTrace,
    recordings: RecordingStore | None = None,
) -> list[ET.Element]:
    """Play verbs until one hands control to a new document; return it ([] when the call ends)."""
    for verb in verbs:
        for text in _spoken(verb):
            trace.said.append(text)
            phone.hear(text)
        if verb.tag == "Gather":
            digits = phone.keys(verb.get("action", ""))
            if digits == HANGUP:
                raise CallerHungUp
            finish = verb.get("finishOnKey", "#")
            if finish and digits and digits.endswith(finish):
                digits = digits[: -len(finish)]
            if digits:
                return post(verb.get("action", ""), {"Digits": digits})
        elif verb.tag == "Redirect":
            return post((verb.text or "").strip())
        elif verb.tag == "Dial":
            return _dial(verb, post, provider, base, phone, trace)
        elif verb.tag == "Record":
            seconds = phone.record(verb.get("action", ""))
            if seconds == HANGUP:
                raise CallerHungUp
            if isinstance(seconds, int) and seconds > 0:
                return _record(verb, seconds, post, base, trace, recordings)
            # Nothing recorded: the provider goes on with the next verb, without asking the action.
        elif verb.tag == "Hangup":
            return []
    return []


def _record(
    verb: ET.Element,
    seconds: int,
    post: Post,
    base: dict[str, str],
    trace: CallTrace,
    recordings: RecordingStore | None,
) -> list[ET.Element]:
    """The caller spoke for `seconds` and pressed the finish key: post the action, queue the callback."""
    length = min(seconds, int(verb.get("maxLength", "3600")))
    sid = "RE" + secrets.token_hex(16)
    account = base["AccountSid"]
    url = f"https://api.twilio.com/2010-04-01/Accounts/{account}/Recordings/{sid}"
    if recordings is not None:
        recordings.store_recording(account, sid, length)
    trace.recordings.append(sid)
    fields = {"RecordingSid": sid, "RecordingUrl": url, "RecordingDuration": str(length)}
    callback = verb.get("recordingStatusCallback")
    if callback:
        trace.callbacks.append(
            (
                callback,
                {
                    "AccountSid": account,
                    "CallSid": base["CallSid"],
                    "RecordingStatus": "completed",
                    "RecordingChannels": "1",
                    "RecordingSource": "RecordVerb",
                    **fields,
                },
            )
        )
    # Cut off at maxLength, the caller pressed nothing; else they ended with the finish key.
    digits = "" if length < seconds else verb.get("finishOnKey", "")[:1]
    return post(verb.get("action", ""), {**fields, "Digits": digits} if digits else fields)


def _dial(
    dial: ET.Element,
    post: Post,
    provider: Provider,
    base: dict[str, str],
    phone: Phone,
    trace: CallTrace,
) -> list[ET.Element]:
    number_el = dial.find("Number")
    if number_el is None:
        # `<Dial>number</Dial>`: the fail-safe's forward, without a whisper or an action.
        number_el = ET.Element("Number")
        number_el.text = dial.text
    number = (number_el.text or "").strip()
    if not number:
        return []
    ring = Ring(number, phone.ring(number))
    trace.rings.append(ring)
    if ring.answer == HANGUP:
        raise CallerHungUp
    if ring.answer == "answer":
        bridged = _play_whisper(number_el, number, provider, base, phone, ring)
        if bridged:
            trace.connected_to = number
            phone.connected(number)
        ring.dial_status = "completed"
    else:
        ring.dial_status = ring.answer
    action = dial.get("action")
    if not action:
        return []
    return post(action, {"DialCallStatus": ring.dial_status, "DialCallSid": "CA" + secrets.token_hex(16)})


def _play_whisper(
    number_el: ET.Element, number: str, provider: Provider, base: dict[str, str], phone: Phone, ring: Ring
) -> bool:
    """Play the `<Number url>` TwiML to the callee; return whether the parties are connected."""
    url = number_el.get("url")
    if not url:
        return True
    child = {
        "CallSid": "CA" + secrets.token_hex(16),
        "ParentCallSid": base["CallSid"],
        "AccountSid": base["AccountSid"],
        "From": base["From"],
        "To": number,
        "Direction": "outbound-dial",
        "CallStatus": "in-progress",
    }
    verbs = _callee_post(provider, url, child)
    for _ in range(20):
        next_verbs = None
        for verb in verbs:
            for text in _spoken(verb):
                ring.whisper.append(text)
                phone.callee_hears(number, text)
            if verb.tag == "Gather":
                key = phone.callee_key(number)
                ring.key = key
                if key:
                    next_verbs = _callee_post(provider, verb.get("action", ""), {**child, "Digits": key})
                    break
            elif verb.tag == "Redirect":
                next_verbs = _callee_post(provider, (verb.text or "").strip(), child)
                break
            elif verb.tag == "Hangup":
                return False
        if next_verbs is None:
            return True  # the whisper's TwiML ended: the parties are connected
        verbs = next_verbs
    return False


def _spoken(verb: ET.Element) -> list[str]:
    """Return what a `<Say>`, or the `<Say>`s inside a `<Gather>`, speak."""
    says = [verb] if verb.tag == "Say" else [inner for inner in verb if inner.tag == "Say"]
    return [(say.text or "").strip() for say in says]


def _callee_post(provider: Provider, url: str, params: dict[str, str]) -> list[ET.Element]:
    """Post on the callee's leg; an error answer hangs that leg up, as the provider would."""
    status, body = provider.post(url, params)
    return list(ET.fromstring(body)) if status == 200 else [ET.Element("Hangup")]


class ScriptedPhone:
    """A phone for tests: caller keys in order, and how each number answers.

    `answers` maps a number to "no-answer", "busy", "failed", or a key the callee
    presses after answering ("1" accepts, "" stays silent); numbers not listed
    do not answer.
    """

    def __init__(
        self,
        keys: Iterable[str | None],
        answers: dict[str, str] | None = None,
        *,
        message_seconds: int | None = None,
    ) -> None:
        self.pending = list(keys)
        self.answers = answers or {}
        self.heard: list[str] = []
        self.message_seconds = message_seconds

    def record(self, action: str) -> int | str | None:
        """Speak for `message_seconds` and press #. Without a message: while the script still holds
        keys, the next is used up saying nothing (nothing is recorded); after the last, hang up."""
        if self.message_seconds:
            return self.message_seconds
        if self.pending:
            self.pending.pop(0)
            return None
        return HANGUP

    def hear(self, text: str) -> None:
        self.heard.append(text)

    def keys(self, expected: str) -> str | None:
        return self.pending.pop(0) if self.pending else HANGUP

    def ring(self, number: str) -> str:
        answer = self.answers.get(number, "no-answer")
        return answer if answer in {"no-answer", "busy", "failed", HANGUP} else "answer"

    def callee_hears(self, number: str, text: str) -> None:
        pass

    def callee_key(self, number: str) -> str | None:
        return self.answers.get(number) or None

    def connected(self, number: str) -> None:
        pass


class TerminalPhone:
    """A phone on the terminal: prompts printed as text, keys typed on the keyboard."""

    def __init__(self, read: Callable[[str], str] = input, write: Callable[[str], None] = print) -> None:
        self.read = read
        self.write = write

    def _ask(self, prompt: str) -> str | None:
        try:
            return self.read(prompt).strip()
        except EOFError:
            return None

    def hear(self, text: str) -> None:
        self.write(f"  LINE: {text}")

    def keys(self, expected: str) -> str | None:
        typed = self._ask("  your keys (Enter = silence, h = hang up)> ")
        if typed is None or typed.lower() == "h":
            return HANGUP
        return typed or None

    def ring(self, number: str) -> str:
        self.write(f"\n  RING {number}")
        choice = self._ask("  callee: [a]nswer, [n]o answer, [b]usy, [f]ailed, [h]ang up yourself> ")
        return {"a": "answer", "": "answer", "n": "no-answer", "b": "busy", "f": "failed", "h": HANGUP}.get(
            (choice or "n").lower()[:1], "no-answer"
        )

    def record(self, action: str) -> int | str | None:
        typed = self._ask("  BEEP. seconds you speak (Enter = silence, h = hang up)> ")
        if typed is None or typed.lower() == "h":
            return HANGUP
        return int(typed) if typed.isdigit() else None

    def callee_hears(self, number: str, text: str) -> None:
        self.write(f"  WHISPER to {number}: {text}")

    def callee_key(self, number: str) -> str | None:
        return self._ask(f"  key pressed by {number} (1 accepts, Enter = silence)> ") or None

    def connected(self, number: str) -> None:
        self.write(f"\n  CONNECTED to {number}. (The conversation ends when you press Enter.)")
        self._ask("")
