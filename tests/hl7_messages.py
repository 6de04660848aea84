"""Real-looking HL7 v2 ADT messages as Epic (Sundhedsplatformen) sends them, built field by field."""

from __future__ import annotations

from collections.abc import Mapping

from tests.factories import CPR_ACTIVE

CPR_FIELD = f"{CPR_ACTIVE}^^^CPR^NNDNK~Z4711^^^EPIC^MR"

# An inpatient stay on the cardiology ward, admitted Friday morning, discharged Monday.
PV1_BASE: dict[int, str] = {
    1: "1",
    2: "I",
    3: "KAR^312^2^RH",
    10: "MED",
    19: "V9001^^^RH^VN",
    44: "202611200800",
}
DISCHARGE_FIELDS: dict[int, str] = {36: "03", 45: "202611230915"}


def segment(name: str, fields: Mapping[int, str]) -> str:
    """Return a segment with each field at its HL7 position (PV1-45 at 45), the rest empty."""
    values = [""] * (max(fields, default=0) + 1)
    for number, value in fields.items():
        values[number] = value
    values[0] = name
    return "|".join(values)


def adt(
    event: str,
    *,
    message_id: str = "MSG0001",
    pid3: str = CPR_FIELD,
    pv1: Mapping[int, str | None] | None = None,
    evn6: str = "",
    extra: tuple[str, ...] = (),
    separator: str = "\r",
    message_type: str = "ADT",
    pid30: str = "",
    pid11: str = "",
    with_pv1: bool = True,
) -> str:
    """Return an ADT message; `pv1` adds or (with None) removes PV1 fields; A03 gets a discharge's."""
    fields: dict[int, str] = dict(PV1_BASE)
    if event in ("A03", "A13"):
        fields.update(DISCHARGE_FIELDS)
    for number, value in (pv1 or {}).items():
        if value is None:
            fields.pop(number, None)
        else:
            fields[number] = value
    pid = {1: "1", 3: pid3, 5: "Hansen^Anna", 7: "19400101", 8: "F"}
    if pid30:
        pid[30] = pid30
    if pid11:
        pid[11] = pid11
    segments = [
        f"MSH|^~\\&|EPIC|RH|LINJE72|REGH|20261123103000||{message_type}^{event}^ADT_A01|{message_id}"
        "|P|2.5|||AL|NE||UNICODE UTF-8",
        segment("EVN", {1: event, 2: "202611231030", 6: evn6}),
        segment("PID", pid),
    ]
    if with_pv1:
        segments.append(segment("PV1", fields))
    segments += extra
    return separator.join(segments) + separator
