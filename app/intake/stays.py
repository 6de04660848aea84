"""What a hospital system says about a patient's stay, whatever channel it came by.

Every feed (the REST API's discharges, HL7 v2 ADT, MedCom's FHIR HospitalNotification,
the discharges file) is read into `StayEvent`s; one service applies them to the one
stored model of the stay (`app.services.stays`). Readers are pure: they map the hospital
system's codes to ours (departments, destinations) and report what they cannot read;
they never touch the database.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class EventKind(enum.StrEnum):
    """What happened to the stay (indlæggelse)."""

    ADMIT = "admit"  # an inpatient admission (HL7 A01 with PV1-2 I; FHIR admit-inpatient): ends a window
    EMERGENCY = "emergency"  # an emergency visit (A01 E; admit-emergency): ends nothing
    OUTPATIENT = "outpatient"  # an outpatient registration (A04): changes nothing
    TRANSFER = "transfer"  # moved to another department (A02)
    LEAVE_START = "leave_start"  # on leave, still admitted (A21; start-leave-inpatient)
    LEAVE_END = "leave_end"  # back from leave (A22; end-leave-inpatient)
    DISCHARGE = "discharge"  # discharged (A03; discharge-inpatient-home / discharge-emergency-home)
    DEATH = "death"  # the patient died (FHIR Patient.deceased)
    UPDATE = "update"  # the stay's facts corrected (A08; a FHIR revise-…): times, department, destination
    CANCEL = "cancel"  # an earlier event undone (A11 admit, A13 discharge; a FHIR cancel-…): see `cancels`
    MERGE = "merge"  # two identities are one patient (A40): `merged_cpr` becomes `cpr`


class Source(enum.StrEnum):
    FILE = "file"
    REST = "rest"
    HL7 = "hl7"
    FHIR = "fhir"
    CONSOLE = "console"


@dataclass(frozen=True)
class StayEvent:
    """One thing a hospital system reported about a stay, in our codes.

    `stay_id` is the hospital's id of the stay (the visit number, the encounter's id, the
    discharge's id): events about the same stay carry the same one. `cpr` may be a
    replacement CPR number (with letters): kept, but it cannot be keyed on a phone.
    `target_group` is True when the sender says the discharge is to the arrangement's
    target group (a target destination in the hospital's own feed), None when it does not
    know (a HospitalNotification goes to the home municipality for every citizen): such a
    discharge opens no window until the department marks it.
    """

    kind: EventKind
    source: Source
    cpr: str = field(repr=False)  # never in a traceback or a log line
    stay_id: str
    at: datetime  # when it happened (for a discharge: the discharge time)
    department: str | None = None  # our department code
    admitted_at: datetime | None = None
    discharged_at: datetime | None = None
    destination: str | None = None  # ours: temporary_stay, nursing_home, home_nursing, residential, other
    target_group: bool | None = None
    municipality: str | None = None
    gp_phone: str | None = None
    responsibility_until: datetime | None = None  # the hospital's stated end, or an extension
    cancels: EventKind | None = None  # with CANCEL: which event is undone
    merged_cpr: str | None = field(default=None, repr=False)  # with MERGE: the identity merged into `cpr`
    message_id: str = ""  # the sender's id of the message (for its acknowledgement and our log)
    # The event states the whole discharge (a file's or a batch's record): what it leaves out is
    # empty now. Otherwise (HL7, FHIR) what it leaves out stays as it was.
    complete: bool = False
    place: str = ""  # where in the message or file (for problems)
