"""A call's webhooks posted one by one, signed as the provider signs them (for tests of single steps)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

from tests.support import AUTH_TOKEN, PUBLIC_URL, twiml

NURSE = "+4532501010"


class Call:
    """One call's webhooks, signed as the provider signs them, following the action URLs."""

    def __init__(self, client: FlaskClient, call_sid: str) -> None:
        self.client = client
        self.form = {"CallSid": call_sid, "From": NURSE, "To": "+4570207272", "CallStatus": "in-progress"}

    def post(self, url: str, headers: dict[str, str] | None = None, **fields: str) -> tuple[str, ET.Element]:
        full = url if url.startswith("http") else PUBLIC_URL + url
        form = {**self.form, **fields}
        signature = RequestValidator(AUTH_TOKEN).compute_signature(full, form)
        response = self.client.post(
            full, data=form, headers={"X-Twilio-Signature": signature, **(headers or {})}
        )
        assert response.status_code == 200, response.status_code
        body = response.get_data(as_text=True)
        return body, twiml(body)

    def end(self, **fields: str) -> int:
        """Post the status callback of the completed call; return the HTTP status."""
        form = {**self.form, "CallStatus": "completed", **fields}
        signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + "/voice/status", form)
        response = self.client.post(
            PUBLIC_URL + "/voice/status", data=form, headers={"X-Twilio-Signature": signature}
        )
        return response.status_code


def action(root: ET.Element, tag: str = "Gather") -> str:
    element = root.find(tag)
    assert element is not None, ET.tostring(root)
    return element.get("action", "")
