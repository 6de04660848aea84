"""CPR numbers: validation (no modulus 11) and the keys they are stored and found by."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from datetime import date

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from stdnum.dk import cpr as stdnum_cpr
from stdnum.exceptions import ValidationError

# Ten digits, or six and four with a dash or a space between, not part of a longer
# number nor of an E.164 phone number: anything that may be a CPR number.
CPR_LIKE = re.compile(r"(?<![\d+])\d{6}[- ]?\d{4}(?!\d)")
# A replacement number (erstatningspersonnummer, from the hospitals' feeds) standing alone:
# six digits and four letters and digits with at least one letter.
REPLACEMENT_LIKE = re.compile(r"(?<![\w+])\d{6}[- ]?(?=[0-9A-Za-z]{0,3}[A-Za-z])[0-9A-Za-z]{4}(?!\w)")
REDACTED = "[redacted]"


# The provider's ids (CA… for calls, 32 hex digits) may hold ten decimal digits in a row:
# they are left whole, so that a call's log lines can be found by its id.
PROVIDER_ID = re.compile(r"\b[A-Z]{2}[0-9a-f]{32}\b")


def redact(text: str) -> str:
    """Return `text` with anything shaped like a CPR number blanked out (provider ids kept whole)."""
    kept = PROVIDER_ID.findall(text)
    parts = PROVIDER_ID.split(text)
    out = [REPLACEMENT_LIKE.sub(REDACTED, CPR_LIKE.sub(REDACTED, part)) for part in parts]
    return "".join(part + (kept[i] if i < len(kept) else "") for i, part in enumerate(out))


def shown(value: object) -> str:
    """Return a value as an error message may quote it: repr, with any CPR-shaped run blanked out."""
    return redact(repr(value))


class CprError(ValueError):
    """Not a valid CPR number. The message never contains the number."""


def parse(text: str, today: date) -> tuple[str, date]:
    """Return the 10-digit CPR number and the birth date; raise CprError.

    Valid means 10 digits, a real date with the century from the 7th digit, and
    not in the future. The modulus-11 check is not applied: numbers issued since
    2007 may fail it. `today` is passed in so that the clock stays outside.
    """
    number = (text or "").replace("-", "").replace(" ", "")
    if not (number.isascii() and number.isdigit()) or len(number) != 10:
        raise CprError("a CPR number has 10 digits")
    try:
        born = stdnum_cpr.get_birth_date(number)
    except ValidationError:
        raise CprError("the CPR number does not hold a real birth date") from None
    if born > today:
        raise CprError("the CPR number's birth date is in the future")
    return number, born


# A replacement number (erstatningspersonnummer, X-eCPR or a region's D-eCPR) is the birth
# date's DDMMYY and four characters with at least one letter, so that it can never be keyed
# on a phone.
REPLACEMENT = re.compile(r"(\d{2})(\d{2})\d{2}(?=[0-9A-Z]{0,3}[A-Z])[0-9A-Z]{4}")


def check_feed_cpr(text: str, today: date | None = None) -> str:
    """Return a hospital feed's CPR number, a replacement number's letters upper case; raise CprError.

    Ten digits must hold a real birth date (no modulus 11); with `today` they are checked as
    `parse` checks a number keyed on the phone (not in the future), without it the hospital's
    register is trusted for that. A replacement number has letters among its last four
    characters; its first six must still be a real day and month, but no century can be told
    from it. A dash or space after the sixth character is allowed.
    """
    raw = (text or "").strip()
    number = raw[:6] + raw[6:].lstrip("- ") if len(raw) > 6 else raw
    if number.isascii() and number.isdigit() and len(number) == 10:
        if today is not None:
            return parse(number, today)[0]
        try:
            stdnum_cpr.get_birth_date(number)
        except ValidationError:
            raise CprError("the CPR number does not hold a real birth date") from None
        return number
    number = number.upper()
    match = REPLACEMENT.fullmatch(number) if number.isascii() else None
    if match is None:
        raise CprError(
            "a CPR number has 10 digits, or (a replacement number) a birth date DDMMYY and "
            "four letters and digits with at least one letter"
        )
    day, month = int(match.group(1)), int(match.group(2))
    try:
        date(2000, month, day)  # a leap year: 29 February may be someone's birthday
    except ValueError:
        raise CprError("the replacement CPR number does not start with a real day and month") from None
    return number


class CprVault:
    """Encrypts CPR numbers at rest and derives their lookup key and export pseudonym.

    Three independent keys come from LINJE72_SECRET_KEY through HKDF, so that the
    lookup hash in the database and the pseudonym in exports cannot be matched
    against each other, and neither can be reversed without the secret.
    """

    def __init__(self, secret: str) -> None:
        self._cipher = AESGCM(_derive(secret, b"linje72 cpr encryption"))
        self._lookup_key = _derive(secret, b"linje72 cpr lookup")
        self._pseudonym_key = _derive(secret, b"linje72 cpr pseudonym")

    def lookup_key(self, number: str) -> str:
        """Return the keyed hash a CPR number is found by."""
        return hmac.new(self._lookup_key, number.encode(), hashlib.sha256).hexdigest()

    def pseudonym(self, number: str) -> str:
        """Return the pseudonymous patient reference used in exports."""
        digest = hmac.new(self._pseudonym_key, number.encode(), hashlib.sha256).hexdigest()
        return "P-" + digest[:16]

    def encrypt(self, number: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._cipher.encrypt(nonce, number.encode(), b"cpr")

    def decrypt(self, blob: bytes) -> str:
        return self._cipher.decrypt(blob[:12], blob[12:], b"cpr").decode()


def derive_key(secret: str, purpose: bytes) -> bytes:
    """Return a 32-byte key for one purpose, derived from LINJE72_SECRET_KEY (HKDF)."""
    return _derive(secret, purpose)


def _derive(secret: str, purpose: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"linje72", info=purpose)
    return hkdf.derive(secret.encode())


def masked(number: str) -> str:
    """Return a CPR number (or replacement number) as staff may see it unasked: the birth date only."""
    return f"{number[:6]}-xxxx"
