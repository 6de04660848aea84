"""Check that a webhook really comes from the telephony provider."""

from __future__ import annotations

from flask import Request
from twilio.request_validator import RequestValidator


def signed_url(request: Request, public_url: str | None) -> str:
    """Return the URL the provider signed: the public base URL behind a proxy, else our own."""
    if not public_url:
        return request.url
    query = request.query_string.decode("latin-1")
    return public_url.rstrip("/") + request.path + (f"?{query}" if query else "")


def is_signed(request: Request, auth_token: str, public_url: str | None) -> bool:
    """Return whether the X-Twilio-Signature header matches the URL and form fields."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    validator = RequestValidator(auth_token)
    return bool(validator.validate(signed_url(request, public_url), request.form, signature))
