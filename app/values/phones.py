"""The one place a phone number is parsed, checked and normalised.

Denmark has a closed 8-digit plan. libphonenumber's metadata lists the ranges that
are allocated, but it lags real allocations: a number of the right length is
accepted (and stored as E.164) even when its range is not listed yet, with a
warning, so a hospital's new number never blocks a rota or hides a caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import shortnumberinfo

from app.values.cpr import shown

REGION = "DK"


class PhoneError(ValueError):
    """Not a number that can be dialled; the message says why."""


@dataclass(frozen=True)
class Phone:
    """A checked number: E.164 (or a Danish short number), and a warning when its range is unknown."""

    number: str
    warning: str | None = None


def check(text: str, *, allow_short: bool = True) -> Phone:
    """Return the number as E.164 (or a short number such as 1813) with any warning; raise PhoneError."""
    return _check((text or "").strip(), allow_short)


# A year's rota names the same few hundred numbers a hundred thousand times, and parsing one
# costs tens of microseconds: the answers (a frozen value or an error) are kept.
@lru_cache(maxsize=8192)
def _check(raw: str, allow_short: bool) -> Phone:
    if not raw:
        raise PhoneError("no phone number given")
    try:
        parsed = phonenumbers.parse(raw, REGION)
    except phonenumbers.NumberParseException:
        raise PhoneError(f"not a phone number: {shown(raw)}") from None
    if (
        allow_short
        and not raw.startswith("+")
        and shortnumberinfo.is_valid_short_number_for_region(parsed, REGION)
    ):
        return Phone(phonenumbers.national_significant_number(parsed))
    if not phonenumbers.is_possible_number(parsed):
        raise PhoneError(f"not a phone number that can be dialled (wrong length): {shown(raw)}")
    number = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if phonenumbers.is_valid_number(parsed):
        return Phone(number)
    return Phone(number, f"{number} is in a range the numbering plan does not list yet; check it is right")


def normalise(text: str, *, allow_short: bool = True) -> str:
    """Return `text` as E.164 (or a Danish short number such as 1813); raise PhoneError."""
    return check(text, allow_short=allow_short).number


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
