"""What the rota-gap warnings say to planners, in Danish: an SMS of one segment where possible, and
the words a warning call speaks. Never patient data: a department, its gap's times, a link.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from routing.calendar import COPENHAGEN, Period

# One SMS segment holds 160 characters of the GSM 03.38 alphabet (æ, ø and å are in it);
# a single character outside it makes the whole message UCS-2, 70 characters a segment.
SEGMENT = 160
GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€")  # two characters each
WEEKDAYS = ("man", "tir", "ons", "tor", "fre", "lør", "søn")
WEEKDAYS_SPOKEN = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")
MONTHS_SPOKEN = (
    "januar februar marts april maj juni juli august september oktober november december"
).split()


class Kind(enum.StrEnum):
    """Why a warning goes out (OutgoingMessage.purpose)."""

    GAP = "gap"  # a gap found
    NEAR = "gap_near"  # the gap is less than a day away
    GROWN = "gap_grown"  # a told gap got longer
    COVERED = "gap_covered"  # a told gap is covered now
    OVERRIDE_LINK = "override_link"  # a planner asks a doctor to fill in who covers a shift
    FOLLOW_UP_FIRST = "followup_first"  # a call nobody answered waits for a call back: whoever answers first
    FOLLOW_UP_SECOND = "followup_second"  # still nobody has taken it: the backup


@dataclass(frozen=True)
class GapFacts:
    """What a warning may say about a gap: nothing about any patient."""

    code: str
    name: str
    period: Period
    start: datetime
    end: datetime


def gsm7_length(text: str) -> int | None:
    """Return how many GSM-7 characters `text` takes, or None when it needs UCS-2."""
    length = 0
    for char in text:
        if char in GSM7:
            length += 1
        elif char in GSM7_EXTENDED:
            length += 2
        else:
            return None
    return length


def fits_one_segment(text: str) -> bool:
    length = gsm7_length(text)
    return length is not None and length <= SEGMENT


def short_time(moment: datetime) -> str:
    """Return e.g. 'man 23.11 15:00' (Copenhagen time)."""
    local = moment.astimezone(COPENHAGEN)
    return f"{WEEKDAYS[local.weekday()]} {local:%d.%m} {local:%H:%M}"


def spoken_time(moment: datetime) -> str:
    """Return e.g. 'mandag den 23. november klokken 15:00' (Copenhagen time)."""
    local = moment.astimezone(COPENHAGEN)
    day = WEEKDAYS_SPOKEN[local.weekday()]
    return f"{day} den {local.day}. {MONTHS_SPOKEN[local.month - 1]} klokken {local:%H:%M}"


def _nobody(period: Period) -> str:
    return "ingen vagthavende" if period is Period.ONCALL else "ingen dagvagt"


def sms_text(kind: Kind, gap: GapFacts, link: str = "") -> str:
    """Return the SMS: with the department's name and the link while it fits one segment, else shorter."""
    candidates = [(gap.name, link), ("", link), ("", "")]
    texts = [_sms(kind, gap, name, url) for name, url in candidates]
    return next((text for text in texts if fits_one_segment(text)), texts[-1])


def _sms(kind: Kind, gap: GapFacts, name: str, link: str) -> str:
    who = f"{gap.code} {name}".strip()
    span = f"fra {short_time(gap.start)} til {short_time(gap.end)}"
    if kind is Kind.COVERED:
        text = f"Linje 72: Hullet i vagtplanen for {who} {span} er dækket nu."
    else:
        lead = {
            Kind.GAP: f"Hul i vagtplanen for {who}",
            Kind.NEAR: f"Påmindelse: hul i vagtplanen for {who} om under et døgn",
            Kind.GROWN: f"Hullet i vagtplanen for {who} er blevet større",
        }[kind]
        text = f"Linje 72: {lead}: {_nobody(gap.period)} {span}."
    return f"{text} {link}" if link else text


def spoken_text(kind: Kind, gap: GapFacts) -> str:
    """Return what a warning call says (once; the call says it twice)."""
    lead = {
        Kind.GAP: "Her er Linje 72 med en advarsel om et hul i vagtplanen.",
        Kind.NEAR: "Her er Linje 72 med en påmindelse: der er et hul i vagtplanen om under et døgn.",
        Kind.GROWN: "Her er Linje 72: et hul i vagtplanen er blevet større.",
        Kind.COVERED: "Her er Linje 72: et hul i vagtplanen er dækket nu.",
    }[kind]
    span = f"fra {spoken_time(gap.start)} til {spoken_time(gap.end)}"
    if kind is Kind.COVERED:
        return f"{lead} {gap.name}, afdeling {gap.code}, {span}."
    return f"{lead} {gap.name}, afdeling {gap.code}, har {_nobody(gap.period)} {span}."


def override_link_text(code: str, start: datetime, end: datetime, link: str) -> str:
    """Return the SMS that asks a doctor to say who covers a stretch: the link opens the form after login."""
    return (
        f"Linje 72: Hvem dækker vagten i {code} fra {short_time(start)} til {short_time(end)}? "
        f"Log ind og udfyld afløsningen: {link}"
    )


def follow_up_sms(department: str, link: str) -> str:
    """Return the reminder of a call waiting for a call back: the department and a link behind a login,
    nothing about the caller or the patient."""
    return f"Linje 72: et ubesvaret opkald venter på opfølgning i {department}. Se opgaven: {link}"


def follow_up_spoken(department: str) -> str:
    """Return what a reminder call says (once; the call says it twice): no caller, no patient."""
    return (
        f"Her er Linje 72. Et ubesvaret opkald venter på opfølgning i {department}. "
        "Log ind på Linje 72 og se opfølgningslisten."
    )
