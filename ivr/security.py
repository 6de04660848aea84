"""Check that a webhook really comes from the telephony provider."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from flask import Request
from twilio.request_validator import RequestValidator


def signed_url(request: Request, public_url: str) -> str:
    """Return the URL the provider signed: the public base URL and the path under it.

    Never the request's own Host header: a request signed for another host on the same
    provider account must not be accepted here.
    """
    query = request.query_string.decode("latin-1")
    return public_url.rstrip("/") + request.path + (f"?{query}" if query else "")


def is_signed(request: Request, auth_tokens: Sequence[str], public_url: str) -> bool:
    """Return whether X-Twilio-Signature matches the URL and form fields under one of the tokens.

    Two tokens while the account's token is rotated: the new one and the old one.
    """
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    url = signed_url(request, public_url)
    for token in auth_tokens:
        validator = RequestValidator(token)
        # The provider signs the URL as configured: one signature checks a genuine request. Only a
        # mismatch pays for the library's full check (the URL with and without its port).
        if hmac.compare_digest(validator.compute_signature(url, request.form), signature):
            return True
        if validator.validate(url, request.form, signature):
            return True
    return False
