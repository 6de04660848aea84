"""The one place a phone number is parsed, checked and normalised."""

from __future__ import annotations

import phonenumbers
from phonenumbers import shortnumberinfo

REGION = "DK"


class PhoneError(ValueError):
    """Not a number that can be dialled; the message says why."""


def normalise(text: str, *, allow_short: bool = True) -> str:
    """Return `text` as E.164 (or a Danish short number such as 1813); raise PhoneError."""
    raw = (text or "").strip()
    if not raw:
        raise PhoneError("no phone number given")
    try:
        parsed = phonenumbers.parse(raw, REGION)
    except phonenumbers.NumberParseException:
        raise PhoneError(f"not a phone number: {raw!r}") from None
    if phonenumbers.is_valid_number(parsed):
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if (
        allow_short
        and not raw.startswith("+")
        and shortnumberinfo.is_valid_short_number_for_region(parsed, REGION)
    ):
        return phonenumbers.national_significant_number(parsed)
    raise PhoneError(f"not a valid phone number: {raw!r}")


def normalise_caller_id(text: str | None) -> str | None:
    """Return the caller ID as E.164, or None when it is withheld or not a number."""
    if not text:
        return None
    try:
        return normalise(text, allow_short=False)
    except PhoneError:
        return None


def spoken(number: str) -> str:
    """Return a number grouped for reading aloud, e.g. '31 10 20 01'."""
    digits = number.removeprefix("+45") if len(number) == 11 else number
    if len(digits) == 8 and digits.isdigit():
        return " ".join(digits[i : i + 2] for i in range(0, 8, 2))
    return " ".join(digits)
