"""The provider's REST API for warnings to staff: an SMS through Messages, a call through Calls.

The HTTP client is handed in (the app keeps a factory for it), so tests answer with a
local stand-in and nothing leaves the machine. The library's client is given every
setting itself, never the process environment.
"""

from __future__ import annotations

from dataclasses import dataclass

from requests import RequestException
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
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
    """The library's own client, with a bounded wait."""
    return TwilioHttpClient(timeout=TIMEOUT_SECONDS)


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
