"""CPR numbers: validation (no modulus 11) and the keys they are stored and found by."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from datetime import date

from cryptography.exceptions import InvalidTag
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


class VaultKeyMissing(InvalidTag, ValueError):
    """A CPR number encrypted under a key the vault does not hold; the message names the key id only.

    An InvalidTag as before key rotation, so that code catching that still does."""


# A ciphertext starts with this tag and the id of the key it was made with, so that during a key
# rotation the vault knows which key opens it. Ciphertexts from before key ids (no tag) are
# opened by trying the keys the vault holds; AES-GCM says which one is right.
TAG = b"L72k"
KEY_ID_BYTES = 4
# What a CPR number's ciphertext is bound to (with the key id since keys have ids).
CPR_PURPOSE = b"cpr"


@dataclass(frozen=True)
class _Key:
    id: bytes
    cipher: AESGCM
    lookup: bytes

    @classmethod
    def of(cls, secret: str) -> _Key:
        return cls(
            id=_derive(secret, b"linje72 key id")[:KEY_ID_BYTES],
            cipher=AESGCM(_derive(secret, b"linje72 cpr encryption")),
            lookup=_derive(secret, b"linje72 cpr lookup"),
        )


class CprVault:
    """Encrypts CPR numbers at rest and derives their lookup key and export pseudonym.

    Three independent keys come from LINJE72_SECRET_KEY through HKDF, so that the
    lookup hash in the database and the pseudonym in exports cannot be matched
    against each other, and neither can be reversed without the secret.

    During a key rotation the vault also holds the previous secret: it encrypts and
    computes lookup keys with the current one only, opens ciphertexts made with either,
    and `lookup_keys` gives both lookup keys (current first). The pseudonym key may be
    given on its own (LINJE72_PSEUDONYM_KEY) so that pseudonyms outlive a rotation.
    """

    def __init__(self, secret: str, previous: str | None = None, pseudonym_key: bytes | None = None) -> None:
        self._current = _Key.of(secret)
        self._previous = _Key.of(previous) if previous else None
        self._pseudonym_key = pseudonym_key or derive_pseudonym_key(secret)

    @property
    def key_id(self) -> str:
        """Return the current key's id (8 hex digits): safe to print, reveals nothing of the key."""
        return self._current.id.hex()

    @property
    def previous_key_id(self) -> str | None:
        return self._previous.id.hex() if self._previous else None

    @property
    def current_tag(self) -> bytes:
        """Return how every ciphertext made with the current key starts."""
        return TAG + self._current.id

    @property
    def known_tags(self) -> tuple[bytes, ...]:
        return tuple(TAG + key.id for key in self._keys())

    def _keys(self) -> tuple[_Key, ...]:
        return (self._current, self._previous) if self._previous else (self._current,)

    def lookup_key(self, number: str) -> str:
        """Return the keyed hash a CPR number is stored and found by (the current key's)."""
        return _lookup(self._current.lookup, number)

    def lookup_keys(self, number: str) -> tuple[str, ...]:
        """Return every keyed hash the CPR number may be stored under: the current key's first."""
        return tuple(_lookup(key.lookup, number) for key in self._keys())

    def pseudonym(self, number: str) -> str:
        """Return the pseudonymous patient reference used in exports."""
        digest = hmac.new(self._pseudonym_key, number.encode(), hashlib.sha256).hexdigest()
        return "P-" + digest[:16]

    def encrypt(self, number: str) -> bytes:
        """Return the CPR number encrypted with the current key, tagged with that key's id."""
        return self.encrypt_bytes(number.encode(), CPR_PURPOSE)

    def decrypt(self, blob: bytes) -> str:
        """Return the CPR number in `blob`; raise VaultKeyMissing when no key the vault holds opens it."""
        blob = bytes(blob)
        opened = self._open_tagged(blob, CPR_PURPOSE)
        if opened is not None:
            return opened.decode()
        for key in self._keys():  # made before key ids (or, very rarely, a nonce that starts like a tag)
            try:
                return key.cipher.decrypt(blob[:12], blob[12:], CPR_PURPOSE).decode()
            except InvalidTag:
                continue
        raise VaultKeyMissing(f"encrypted under {describe_key(blob)}, which this vault does not hold")

    def encrypt_bytes(self, data: bytes, purpose: bytes) -> bytes:
        """Return `data` (e.g. a voice message's audio) encrypted with the current key, tagged as a CPR
        number is, so that key rotation and the start's key check treat both alike.

        `purpose` is bound to the ciphertext: audio cannot be opened as anything else.
        """
        nonce = os.urandom(12)
        key = self._current
        return TAG + key.id + nonce + key.cipher.encrypt(nonce, data, purpose + b":" + key.id)

    def decrypt_bytes(self, blob: bytes, purpose: bytes) -> bytes:
        """Return the bytes in `blob`; raise VaultKeyMissing when no key the vault holds opens it."""
        blob = bytes(blob)
        opened = self._open_tagged(blob, purpose)
        if opened is None:
            raise VaultKeyMissing(f"encrypted under {describe_key(blob)}, which this vault does not hold")
        return opened

    def _open_tagged(self, blob: bytes, purpose: bytes) -> bytes | None:
        """Open a ciphertext tagged with a key id under that key, or return None (no tag, the key
        not held, or it does not open)."""
        if blob[: len(TAG)] != TAG:
            return None
        key_id = blob[len(TAG) : len(TAG) + KEY_ID_BYTES]
        body = blob[len(TAG) + KEY_ID_BYTES :]
        for key in self._keys():
            if key.id == key_id:
                try:
                    return key.cipher.decrypt(body[:12], body[12:], purpose + b":" + key_id)
                except InvalidTag:
                    return None
        return None

    def is_current(self, blob: bytes) -> bool:
        """Return whether `blob` was made with the current key (tagged with its id)."""
        return bytes(blob[: len(TAG) + KEY_ID_BYTES]) == self.current_tag


def key_id_of(blob: bytes) -> str | None:
    """Return the id of the key a ciphertext is tagged with, or None for one made before key ids."""
    blob = bytes(blob)
    return blob[len(TAG) : len(TAG) + KEY_ID_BYTES].hex() if blob[: len(TAG)] == TAG else None


def describe_key(blob: bytes) -> str:
    key_id = key_id_of(blob)
    return f"key id {key_id}" if key_id else "a key from before key ids"


def key_id(secret: str) -> str:
    """Return the id of the key a secret gives (8 hex digits)."""
    return _derive(secret, b"linje72 key id")[:KEY_ID_BYTES].hex()


def derive_pseudonym_key(secret: str) -> bytes:
    """Return the pseudonym key a secret gives (the one used when LINJE72_PSEUDONYM_KEY is not set)."""
    return _derive(secret, b"linje72 cpr pseudonym")


def _lookup(key: bytes, number: str) -> str:
    return hmac.new(key, number.encode(), hashlib.sha256).hexdigest()


def derive_key(secret: str, purpose: bytes) -> bytes:
    """Return a 32-byte key for one purpose, derived from LINJE72_SECRET_KEY (HKDF)."""
    return _derive(secret, purpose)


def _derive(secret: str, purpose: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"linje72", info=purpose)
    return hkdf.derive(secret.encode())


def masked(number: str) -> str:
    """Return a CPR number (or replacement number) as staff may see it unasked: the birth date only."""
    return f"{number[:6]}-xxxx"
