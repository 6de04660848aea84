"""CPR numbers: validation by date and century, never by modulus 11 (DOMAIN.md), and the vault."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
from cryptography.exceptions import InvalidTag

from app.values.cpr import CprError, CprVault, check_feed_cpr, parse

TODAY = date(2026, 11, 23)
SECRET = "test-secret-key-that-is-long-enough-0123456789"
OTHER_SECRET = "another-secret-key-that-is-long-enough-9876543210"

WEIGHTS = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)


def passes_modulus_11(number: str) -> bool:
    return sum(int(digit) * weight for digit, weight in zip(number, WEIGHTS, strict=True)) % 11 == 0


VALID = [
    # 7th digit 0-3: always the 1900s.
    pytest.param("0101101234", TODAY, date(1910, 1, 1), id="digit-0-yy10-1910"),
    pytest.param("1506451234", TODAY, date(1945, 6, 15), id="digit-1-yy45-1945"),
    pytest.param("3112992234", TODAY, date(1999, 12, 31), id="digit-2-yy99-1999"),
    pytest.param("0101203234", TODAY, date(1920, 1, 1), id="digit-3-yy20-1920-not-2020"),
    # 4 or 9: 2000-2036 when YY <= 36, else 1937-1999.
    pytest.param("0101004234", TODAY, date(2000, 1, 1), id="digit-4-yy00-2000"),
    pytest.param("0101364234", date(2040, 1, 1), date(2036, 1, 1), id="digit-4-yy36-2036"),
    pytest.param("0101374234", TODAY, date(1937, 1, 1), id="digit-4-yy37-1937"),
    pytest.param("0101999234", TODAY, date(1999, 1, 1), id="digit-9-yy99-1999"),
    pytest.param("0101159234", TODAY, date(2015, 1, 1), id="digit-9-yy15-2015"),
    # 5-8: 2000-2057 when YY <= 57, else 1858-1899.
    pytest.param("0101205234", TODAY, date(2020, 1, 1), id="digit-5-yy20-2020"),
    pytest.param("0101576234", date(2060, 1, 1), date(2057, 1, 1), id="digit-6-yy57-2057"),
    pytest.param("0101587234", TODAY, date(1858, 1, 1), id="digit-7-yy58-1858"),
    pytest.param("3112998234", TODAY, date(1899, 12, 31), id="digit-8-yy99-1899"),
    # Leap days.
    pytest.param("2902961234", TODAY, date(1996, 2, 29), id="29-feb-1996-leap"),
    pytest.param("2902004234", TODAY, date(2000, 2, 29), id="29-feb-2000-leap"),
    # Born today is not in the future.
    pytest.param("2311264234", TODAY, date(2026, 11, 23), id="born-today"),
]


@pytest.mark.parametrize(("text", "today", "born"), VALID)
def test_valid_cpr_number_gives_birth_date_by_century_rule(text: str, today: date, born: date) -> None:
    assert parse(text, today) == (text, born)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        pytest.param("010190-1234", "0101901234", id="with-dash"),
        pytest.param(" 010190 1234 ", "0101901234", id="with-spaces"),
    ],
)
def test_written_form_with_dash_or_spaces_is_accepted(text: str, number: str) -> None:
    assert parse(text, TODAY) == (number, date(1990, 1, 1))


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("0101901234", id="fails-by-7"),
        pytest.param("0101901235", id="fails-by-8"),
        pytest.param("2902961231", id="leap-day-fails"),
    ],
)
def test_number_failing_modulus_11_is_accepted(text: str) -> None:
    assert not passes_modulus_11(text)
    number, _ = parse(text, TODAY)
    assert number == text


def test_number_passing_modulus_11_is_accepted_too() -> None:
    assert passes_modulus_11("0707614285")
    assert parse("0707614285", TODAY) == ("0707614285", date(1961, 7, 7))


INVALID = [
    pytest.param("3102901234", TODAY, "real birth date", id="31-february"),
    pytest.param("3104901234", TODAY, "real birth date", id="31-april"),
    pytest.param("2902971234", TODAY, "real birth date", id="29-feb-1997-not-leap"),
    pytest.param("2902001234", TODAY, "real birth date", id="29-feb-1900-not-leap"),
    pytest.param("2902585234", TODAY, "real birth date", id="29-feb-1858-not-leap"),
    pytest.param("0013901234", TODAY, "real birth date", id="month-13"),
    pytest.param("0000901234", TODAY, "real birth date", id="day-0-month-0"),
    pytest.param("3201901234", TODAY, "real birth date", id="day-32"),
    pytest.param("2411264234", TODAY, "future", id="born-tomorrow"),
    pytest.param("0101304234", TODAY, "future", id="digit-4-yy30-is-2030"),
    pytest.param("0101505234", TODAY, "future", id="digit-5-yy50-is-2050"),
    pytest.param("0101364234", date(2035, 12, 31), "future", id="2036-seen-from-2035"),
    pytest.param("010190123", TODAY, "10 digits", id="9-digits"),
    pytest.param("01019012345", TODAY, "10 digits", id="11-digits"),
    pytest.param("", TODAY, "10 digits", id="empty"),
    pytest.param("01019O1234", TODAY, "10 digits", id="letter-o"),
    pytest.param("0101901234#", TODAY, "10 digits", id="trailing-hash"),
    pytest.param("+4501019012", TODAY, "10 digits", id="plus-sign"),
    pytest.param("0101.901234", TODAY, "10 digits", id="dot"),
    pytest.param("-101901234", TODAY, "10 digits", id="dash-leaves-9"),
]


@pytest.mark.parametrize(("text", "today", "message"), INVALID)
def test_invalid_cpr_number_is_rejected(text: str, today: date, message: str) -> None:
    with pytest.raises(CprError, match=message):
        parse(text, today)


@pytest.mark.parametrize(("text", "today", "message"), INVALID)
def test_rejection_message_never_contains_the_number(text: str, today: date, message: str) -> None:
    with pytest.raises(CprError) as caught:
        parse(text, today)
    shown = str(caught.value)
    digits = "".join(c for c in text if c.isdigit())
    runs = {digits[i : i + 4] for i in range(max(len(digits) - 3, 0))}
    assert not any(run in shown for run in runs), shown


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("０１０１９０１２３４", id="fullwidth-digits"),
        pytest.param("\u0661" * 10, id="arabic-indic-digits"),
        pytest.param("\u00b2" * 10, id="superscript-twos"),
    ],
)
def test_non_ascii_digits_are_rejected_as_cpr_error(text: str) -> None:
    with pytest.raises(CprError):
        parse(text, TODAY)


# --- The vault --------------------------------------------------------------------------------


def test_lookup_key_is_stable_for_the_same_secret() -> None:
    assert CprVault(SECRET).lookup_key("0101901234") == CprVault(SECRET).lookup_key("0101901234")


def test_lookup_key_depends_on_the_secret_and_the_number() -> None:
    vault = CprVault(SECRET)
    key = vault.lookup_key("0101901234")
    assert CprVault(OTHER_SECRET).lookup_key("0101901234") != key
    assert vault.lookup_key("0101901235") != key


def test_lookup_key_is_not_a_plain_hash_of_the_number() -> None:
    key = CprVault(SECRET).lookup_key("0101901234")
    assert key != hashlib.sha256(b"0101901234").hexdigest()
    assert "0101901234" not in key


def test_pseudonym_cannot_be_matched_with_the_lookup_key() -> None:
    vault = CprVault(SECRET)
    pseudonym = vault.pseudonym("0101901234")
    key = vault.lookup_key("0101901234")
    assert pseudonym.startswith("P-")
    assert pseudonym != key
    assert pseudonym.removeprefix("P-") not in key
    assert vault.pseudonym("0101901234") == pseudonym
    assert CprVault(OTHER_SECRET).pseudonym("0101901234") != pseudonym


def test_encryption_round_trips_and_never_repeats() -> None:
    vault = CprVault(SECRET)
    first = vault.encrypt("0101901234")
    second = vault.encrypt("0101901234")
    assert first != second
    assert b"0101901234" not in first
    assert vault.decrypt(first) == "0101901234"
    assert CprVault(SECRET).decrypt(second) == "0101901234"


def test_decryption_with_another_secret_fails() -> None:
    blob = CprVault(SECRET).encrypt("0101901234")
    with pytest.raises(InvalidTag):
        CprVault(OTHER_SECRET).decrypt(blob)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("0101401234", "0101401234"),
        ("010140-1234", "0101401234"),
        ("0101407ab1", "0101407AB1"),  # X-eCPR: a replacement number, upper-cased
        ("2902000XY3", "2902000XY3"),  # D-eCPR with 29 February
        ("0101505234", "0101505234"),  # a birth date in the future is the hospital's register's concern
    ],
)
def test_a_feeds_cpr_number_may_be_a_replacement_number(given: str, expected: str) -> None:
    assert check_feed_cpr(given) == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("3102401234", "the CPR number does not hold a real birth date"),
        ("3102407AB1", "the replacement CPR number does not start with a real day and month"),
        ("01014012", "a CPR number has 10 characters"),
        ("01AB401234", "a replacement CPR number is six digits of a birth date and four letters or digits"),
    ],
)
def test_a_feeds_cpr_number_without_a_real_date_is_refused_without_quoting_it(
    given: str, message: str
) -> None:
    with pytest.raises(CprError) as refused:
        check_feed_cpr(given)
    assert str(refused.value).startswith(message)
    assert given not in str(refused.value)
