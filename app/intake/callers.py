"""Read a caller registry file (`phone,organisation,kind,code,language`, optional `agreement`)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from app.intake.table import Problems, Row, Seen, read_csv
from app.values.callers import CALLER_KINDS, DEFAULT_LANGUAGE, LANGUAGES, UNIT_CODE_RULE, unit_code
from app.values.cpr import shown
from app.values.phones import PhoneError
from app.values.phones import check as check_phone

COLUMNS = ("phone", "organisation", "kind", "code", "language")
OPTIONAL = ("agreement",)


@dataclass(frozen=True)
class CallerRecord:
    """One registered caller: known by its caller ID, its unit code, or both."""

    organisation: str
    kind: str
    phone: str | None = None
    code: str | None = None
    language: str = DEFAULT_LANGUAGE
    row: int = 0
    agreement: str | None = None  # the agreement whose line it calls; None: the deployment's
    has_agreement: bool = False

    def values(self) -> dict[str, Any]:
        values = {
            "phone": self.phone,
            "code": self.code,
            "organisation": self.organisation,
            "kind": self.kind,
            "language": self.language,
        }
        if self.has_agreement:
            values["agreement"] = self.agreement
        return values


def read_callers(
    text: str, problems: Problems, agreements: Collection[str] | None = None
) -> list[CallerRecord]:
    """Return the file's callers; problems go to `problems`; `agreements` are the codes stored."""
    table = read_csv(text, problems, COLUMNS, optional=OPTIONAL)
    if table is None:
        return []
    columns, rows = table
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
        agreement = row.text("agreement", max_length=16) if "agreement" in columns else None
        if agreement is not None and agreements is not None and agreement not in agreements:
            row.problem("agreement", f"no agreement {agreement!r} (import agreements first)")
        if row.ok and organisation and kind:
            records.append(
                CallerRecord(
                    organisation,
                    kind,
                    phone,
                    code,
                    language,
                    row.number,
                    agreement=agreement,
                    has_agreement="agreement" in columns,
                )
            )
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
