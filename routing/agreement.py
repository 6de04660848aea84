"""A regional agreement: the version of the arrangement a hospital runs under.

The Capital Region runs 72 hours, somatic departments, stays under 24 hours excluded;
Region Zealand runs 96 hours, adults only, its own residents, psychiatry included, its
own after-hours line. From 1 January 2027 one deployment serves both (Region
Østdanmark), each hospital under its own agreement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from routing.calendar import Calendar

# What the records call the rules of a department without an agreement of its own (the
# deployment's settings): the contact export's `agreement` then, and the log's filter.
DEFAULT_AGREEMENT = "default"


@dataclass(frozen=True)
class Agreement:
    """The rules one agreement sets: the window, who is covered, its numbers and its calendar."""

    code: str
    name: str
    after_hours_number: str
    fallback_number: str
    calendar: Calendar = field(default_factory=Calendar)
    line_name: str = "72-timers-linjen"  # what the prompts call the line
    window: timedelta = timedelta(hours=72)
    min_age: int | None = None  # age at discharge; None: every age
    municipalities: frozenset[str] = frozenset()  # the residents covered; empty: everyone
    short_stay: timedelta = timedelta(hours=24)  # stays shorter than this open nothing
    # Zealand's coming exception: nursing-home residents with a short (or emergency) stay are covered.
    nursing_home_short_stays: bool = False
    psychiatry: bool = False  # whether psychiatric departments take part
    # Nursing staff calling are put through to the department's nurses first (the rota's
    # `nurse` shifts), doctors to the doctors (Zealand's way).
    nurse_first: bool = False

    def covers_patient(self, born: date | None, municipality: str | None, discharged_at: datetime) -> bool:
        """Whether a patient of this age and residence is in the agreement (unknown facts never exclude).

        A replacement CPR number tells no century, and older records may lack the
        municipality: the department can end a window, a missed one cannot be mended.
        """
        if self.min_age is not None and born is not None:
            day = self.calendar.local(discharged_at).date()
            age = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
            if age < self.min_age:
                return False
        if self.municipalities and municipality is not None:
            return municipality_key(municipality) in {municipality_key(m) for m in self.municipalities}
        return True


_SUFFIXES = (" regionskommune", " kommune")


def municipality_key(name: str) -> str:
    """What a municipality's name is compared by: "Københavns Kommune", "københavn" and
    "København" are one municipality, as feeds name them differently (a FHIR message's receiver
    is the municipality's organisation, "Køge Kommune"; a file says "Køge").

    Case and spacing are ignored, so are the words "Kommune" and "Regionskommune" and the
    genitive s before them ("Bornholms Regionskommune" is Bornholm).
    """
    key = " ".join(name.split()).casefold()
    for suffix in _SUFFIXES:
        if key.endswith(suffix):
            key = key[: -len(suffix)]
            break
    return key.removesuffix("s")
