"""The provider's REST API: warnings to staff (an SMS through Messages, a call through Calls), and
the callers' voice messages (a recording's audio fetched, then the provider's copy deleted).

The HTTP client is handed in (the app keeps a factory for it), so tests answer with a
local stand-in and nothing leaves the machine. The library's client is given every
setting itself, never the process environment.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from requests import RequestException, Session
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

# How long one request to the provider may take before it counts as failed (and is tried again).
TIMEOUT_SECONDS = 10.0


class SendError(Exception):
    """The provider did not take a message; `permanent` when trying again cannot help (a bad number)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Sent:
    """What the provider answered: its id for the message or call, and the first status."""

    sid: str
    status: str


class Messenger:
    """Send SMS and place calls through one provider account."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        http_client: HttpClient,
        *,
        region: str | None = None,
        edge: str | None = None,
    ) -> None:
        self._client = Client(
            username=account_sid,
            password=auth_token,
            account_sid=account_sid,
            region=region,
            edge=edge,
            http_client=http_client,
            # Anything but empty, or the library reads TWILIO_* from the process environment.
            environment={"LINJE72": "settings come from app.config"},
        )

    def send_sms(self, to: str, sender: str, body: str, status_callback: str) -> Sent:
        """Send one SMS; raise SendError."""
        try:
            message = self._client.messages.create(
                to=to, from_=sender, body=body, status_callback=status_callback
            )
        except (TwilioException, RequestException) as exc:
            raise _send_error(exc) from None
        return Sent(str(message.sid), str(message.status or "queued"))

    def call(self, to: str, caller_id: str, twiml: str, status_callback: str) -> Sent:
        """Place one call that speaks `twiml`; raise SendError."""
        try:
            call = self._client.calls.create(
                to=to,
                from_=caller_id,
                twiml=twiml,
                status_callback=status_callback,
                status_callback_event=["completed"],
            )
        except (TwilioException, RequestException) as exc:
            raise _send_error(exc) from None
        return Sent(str(call.sid), str(call.status or "queued"))


def default_http_client() -> HttpClient:
    """The library's own client, with a bounded wait (and a recording's audio kept as bytes)."""
    return ProviderHttpClient(timeout=TIMEOUT_SECONDS)


# A recording's audio: the Recordings resource with a media extension.
MEDIA = re.compile(r"/Recordings/RE[0-9a-f]{32}\.(mp3|wav)$")
RECORDING_SID = re.compile(r"RE[0-9a-f]{32}")
API_BASE = "https://api.twilio.com/2010-04-01"


class MediaResponse(Response):
    """A response whose body is audio: `body` holds the bytes (the library's Response holds text)."""

    def __init__(self, status_code: int, body: bytes, headers: Any = None) -> None:
        super().__init__(status_code, "", headers)
        self.body = body


class ProviderHttpClient(TwilioHttpClient):
    """The library's HTTP client, except that a recording's audio comes back as bytes, not text."""

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if method.upper() != "GET" or not MEDIA.search(url.split("?")[0]):
            return super().request(method, url, params, data, headers, auth, timeout, allow_redirects)
        session = self.session or Session()
        response = session.get(url, headers=headers, auth=auth, timeout=timeout or self.timeout)
        return MediaResponse(response.status_code, response.content, response.headers)


class RecordingError(Exception):
    """The provider did not give or delete a recording; `permanent` when asking again cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Audio:
    body: bytes
    content_type: str


class Recordings:
    """Fetch a recording's audio and delete the provider's copy, with the account's credentials.

    The URL is built here from the account and the recording's id, never taken from a request, so
    the credentials go nowhere but the provider's API (in its region and edge, when set).
    """

    def __init__(
        self,
        auth_token: str,
        http_client: Callable[[], HttpClient],
        *,
        region: str | None = None,
        edge: str | None = None,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self._auth_token = auth_token
        self._http_client = http_client  # a new one for each use: workers and the scheduler share this
        self._region = region
        self._edge = edge
        self._timeout = timeout

    def _client(self, account_sid: str) -> Client:
        return Client(
            username=account_sid,
            password=self._auth_token,
            account_sid=account_sid,
            region=self._region,
            edge=self._edge,
            http_client=self._http_client(),
            environment={"LINJE72": "settings come from app.config"},
        )

    def fetch(self, account_sid: str, recording_sid: str) -> Audio:
        """Return the recording's audio (MP3); raise RecordingError."""
        _check_sid(recording_sid)
        url = f"{API_BASE}/Accounts/{account_sid}/Recordings/{recording_sid}.mp3"
        try:
            response = self._client(account_sid).request(
                "GET", url, timeout=self._timeout, allow_redirects=True
            )
        except (TwilioException, RequestException) as exc:
            raise RecordingError(f"provider not reached: {type(exc).__name__}") from None
        if response.status_code == 404:
            raise RecordingError("the provider has no such recording (yet)")
        if not response.ok:
            raise RecordingError(f"the provider answered HTTP {response.status_code}")
        if not isinstance(response, MediaResponse):  # a client that decoded the audio as text spoilt it
            raise RecordingError("the HTTP client gave text, not audio", permanent=True)
        body = response.body
        if not body:
            raise RecordingError("the provider gave an empty recording")
        content_type = str((response.headers or {}).get("Content-Type") or "audio/mpeg").split(";")[0]
        return Audio(body, content_type[:40])

    def delete(self, account_sid: str, recording_sid: str) -> None:
        """Delete the provider's copy; one already gone counts as deleted. Raise RecordingError."""
        _check_sid(recording_sid)
        try:
            self._client(account_sid).api.v2010.accounts(account_sid).recordings(recording_sid).delete()
        except TwilioRestException as exc:
            if exc.status == 404:
                return
            raise RecordingError(f"provider error {exc.code or exc.status}"[:200]) from None
        except (TwilioException, RequestException) as exc:
            raise RecordingError(f"provider not reached: {type(exc).__name__}") from None


def _check_sid(recording_sid: str) -> None:
    if not RECORDING_SID.fullmatch(recording_sid):
        raise RecordingError("not a recording's id", permanent=True)


def _send_error(exc: Exception) -> SendError:
    if isinstance(exc, TwilioRestException):
        # 4xx other than "too many requests": the request itself is wrong (e.g. a number that
        # cannot take SMS); sending it again gives the same answer.
        permanent = 400 <= exc.status < 500 and exc.status != 429
        return SendError(f"provider error {exc.code or exc.status}: {exc.msg}"[:200], permanent=permanent)
    return SendError(f"provider not reached: {type(exc).__name__}"[:200], permanent=False)


def warning_twiml(text: str, voice: str) -> str:
    """Return TwiML that says `text` in Danish twice, with a pause between, then hangs up."""
    response = VoiceResponse()
    response.say(text, voice=voice, language="da-DK")
    response.pause(length=2)
    response.say(text, voice=voice, language="da-DK")
    response.hangup()
    return str(response)
