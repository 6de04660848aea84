"""Read a caller registry file (`phone,organisation,kind,code,language`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.intake.table import Problems, Row, Seen, read_csv
from app.values.callers import CALLER_KINDS, DEFAULT_LANGUAGE, LANGUAGES, UNIT_CODE_RULE, unit_code
from app.values.cpr import shown
from app.values.phones import PhoneError
from app.values.phones import check as check_phone

COLUMNS = ("phone", "organisation", "kind", "code", "language")


@dataclass(frozen=True)
class CallerRecord:
    """One registered caller: known by its caller ID, its unit code, or both."""

    organisation: str
    kind: str
    phone: str | None = None
    code: str | None = None
    language: str = DEFAULT_LANGUAGE
    row: int = 0

    def values(self) -> dict[str, Any]:
        return {
            "phone": self.phone,
            "code": self.code,
            "organisation": self.organisation,
            "kind": self.kind,
            "language": self.language,
        }


def read_callers(text: str, problems: Problems) -> list[CallerRecord]:
    """Return the file's callers; problems go to `problems`."""
    table = read_csv(text, problems, COLUMNS)
    if table is None:
        return []
    _, rows = table
    phones, codes = Seen(), Seen()
    records = []
    for row in rows:
        phone = _caller_phone(row)
        phones.check(row, "phone", phone)
        code_text = row.text("code", max_length=200)
        code = unit_code(code_text) if code_text is not None else None
        if code_text is not None and code is None:
            row.problem("code", f"{UNIT_CODE_RULE}, not {shown(code_text)}")
        codes.check(row, "code", code)
        if row.raw("phone") is None and code_text is None:
            row.problem("phone", "give a phone number or a code (or both)")
        organisation = row.name("organisation", required=True)
        kind = row.choice("kind", CALLER_KINDS, required=True)
        language = row.choice("language", LANGUAGES) or DEFAULT_LANGUAGE
        if row.ok and organisation and kind:
            records.append(CallerRecord(organisation, kind, phone, code, language, row.number))
    return records


def _caller_phone(row: Row) -> str | None:
    """A caller is known by its caller ID, which is a full number: short numbers are refused."""
    text = row.text("phone", max_length=40)
    if text is None:
        return None
    try:
        phone = check_phone(text, allow_short=False)
    except PhoneError as exc:
        try:
            check_phone(text)
        except PhoneError:
            row.problem("phone", str(exc))
        else:
            row.problem("phone", f"a short number cannot identify a caller: {shown(text)}")
        return None
    if phone.warning:
        row.problems.warn(row.number, "phone", phone.warning)
    return phone.number
