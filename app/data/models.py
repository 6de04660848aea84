"""The stored records: departments, callers, discharges, rota shifts, contacts, dial attempts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Date, ForeignKey, Index, LargeBinary, String, Table, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.data.db import Base, UTCDateTime
from routing.rota import shift_problem


class Department(Base):
    """A hospital department that discharges patients (udskrivende afdeling)."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    hospital: Mapped[str] = mapped_column(String(200))
    day_phone: Mapped[str] = mapped_column(String(20))
    oncall_phone: Mapped[str | None] = mapped_column(String(20))
    switchboard_phone: Mapped[str] = mapped_column(String(20))
    day_hours: Mapped[str | None] = mapped_column(String(11))
    # The national health-care register's (SOR) ids of its wards, space-separated: a FHIR
    # HospitalNotification names the responsible department by one of them.
    sor_ids: Mapped[str | None] = mapped_column(String(500))
    # The regional agreement it runs under (its code); None: the deployment's settings.
    agreement: Mapped[str | None] = mapped_column(String(16))
    psychiatric: Mapped[bool] = mapped_column(default=False)
    # The department whose on-call chain it takes in on-call time (a shared on-call pool), by code.
    oncall_pool: Mapped[str | None] = mapped_column(String(32))
    # Its own calendar on top of its agreement's (or the deployment's), as the agreement's:
    # closed days "MM-DD", half days "MM-DD": "HH:MM" (when on-call time starts).
    closed_days: Mapped[list[str]] = mapped_column(JSON, default=list)
    half_days: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)

    def __repr__(self) -> str:
        return f"Department({self.code!r})"


class Caller(Base):
    """A registered health professional's unit that may call the line."""

    __tablename__ = "callers"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    code: Mapped[str | None] = mapped_column(String(8), unique=True)
    organisation: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(2), default="da")
    # The regional agreement its patients are under (its code): the greeting names the line as
    # that agreement does ("96-timers-linjen" for a Zealand municipality); None: the deployment's.
    agreement: Mapped[str | None] = mapped_column(String(16))

    def __repr__(self) -> str:
        return f"Caller({self.organisation!r})"


class Discharge(Base):
    """One hospital stay (indlæggelse) as the hospitals report it, and its discharge (udskrivning)
    once it has happened. The CPR number is encrypted.

    Every feed (the discharges file, the REST API, HL7 v2, FHIR) keeps this one model up to
    date: admitted, on leave (still admitted), discharged, or cancelled. `external_id` is the
    hospital's id of the stay.
    """

    __tablename__ = "discharges"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    cpr_lookup: Mapped[str] = mapped_column(String(64), index=True)
    cpr_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    discharged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None while admitted
    admitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    destination: Mapped[str | None] = mapped_column(String(20))
    municipality: Mapped[str | None] = mapped_column(String(100))
    gp_phone: Mapped[str | None] = mapped_column(String(20))
    responsibility_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # admitted, on_leave, discharged, cancelled
    status: Mapped[str] = mapped_column(String(12), default="discharged")
    # inpatient (indlagt) or emergency (akut ambulant): an emergency visit ends no responsibility
    kind: Mapped[str] = mapped_column(String(10), default="inpatient")
    # Whether the discharge is to the arrangement's target group: True from the hospital's own
    # feed (a target destination) or the department's mark; None where the sender cannot say
    # (a HospitalNotification goes to every citizen's municipality): then it opens no window.
    target_group: Mapped[bool | None] = mapped_column()
    source: Mapped[str] = mapped_column(String(10), default="file")
    # The department ended the responsibility early (readmitted elsewhere, died, handed over).
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_reason: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    department: Mapped[Department] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"Discharge({self.external_id!r}, {self.status!r})"


class Patient(Base):
    """What is known of a person beyond their stays: that they died, or that an identity was merged
    into another (HL7 A40). Found by the CPR lookup key; no CPR number is kept here."""

    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    cpr_lookup: Mapped[str] = mapped_column(String(64), unique=True)
    deceased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    merged_into: Mapped[str | None] = mapped_column(String(64))  # the lookup key it is now known by

    def __repr__(self) -> str:
        return f"Patient({self.id!r})"


class StayMessage(Base):
    """A message a hospital system sent about stays, once applied: a repeat changes nothing."""

    __tablename__ = "stay_messages"
    __table_args__ = (Index("uq_stay_messages_source_id", "source", "message_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(10))
    message_id: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    events: Mapped[int] = mapped_column(default=0)
    # A short account of what it did (never a CPR number), for the integration team.
    summary: Mapped[str] = mapped_column(String(500), default="")


class Shift(Base):
    """One rota (vagtplan) entry: who answers for a department, in which role, when."""

    __tablename__ = "shifts"
    __table_args__ = (Index("ix_shifts_department_start", "department_id", "start_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    role: Mapped[str] = mapped_column(String(10))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(20))
    # The publish that put it in place (None: stored before rota versions existed).
    version_id: Mapped[int | None] = mapped_column(ForeignKey("rota_versions.id"))

    department: Mapped[Department] = relationship()

    def __repr__(self) -> str:
        return f"Shift({self.role!r}, {self.start_at:%Y-%m-%d %H:%M}Z)"


class ShiftError(ValueError):
    """A shift whose times break the rota's rules; the message says which."""


@event.listens_for(Shift, "before_insert")
@event.listens_for(Shift, "before_update")
def _check_shift(_mapper: Any, _connection: Any, shift: Shift) -> None:
    # "Who covers now" reads only the last LONGEST_SHIFT of a rota: a longer shift,
    # however it is written, would be missed by it.
    problem = shift_problem(shift.start_at, shift.end_at)
    if problem:
        raise ShiftError(f"shift {shift.start_at:%Y-%m-%d %H:%M}Z: end {problem}")


class Contact(Base):
    """One call on the line, from the first webhook to the end: its state and its record."""

    __tablename__ = "contacts"
    # The contact log's filters, each with the newest first.
    __table_args__ = (
        Index("ix_contacts_department_started", "department_id", "started_at"),
        Index("ix_contacts_caller_started", "caller_id", "started_at"),
        Index("ix_contacts_number_started", "caller_number", "started_at"),
        Index("ix_contacts_outcome_started", "outcome", "started_at"),
        Index("ix_contacts_route_started", "route", "started_at"),
        Index("ix_contacts_agreement_started", "agreement", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    caller_number: Mapped[str] = mapped_column(String(40), default="")
    caller_id: Mapped[int | None] = mapped_column(ForeignKey("callers.id"))
    caller_organisation: Mapped[str | None] = mapped_column(String(200))
    caller_kind: Mapped[str | None] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(2), default="da")
    # The flow's place: which question is open and how many tries it has used.
    step: Mapped[str] = mapped_column(String(20), default="caller")
    tries: Mapped[int] = mapped_column(default=0)
    patients_read_back: Mapped[int] = mapped_column(default=0)
    # The answers given so far, by request fingerprint: a webhook the provider repeats gets
    # the same answer and changes nothing. Emptied when the call ends.
    replies: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # How many answers the caller's leg has had; each answer's action URLs carry it, so a
    # repeated request is told apart from a new one with the same fields (a second silence).
    turn: Mapped[int] = mapped_column(default=0)
    # Why the line refused to identify the caller or look a patient up (misuse limits).
    refusal: Mapped[str | None] = mapped_column(String(20))
    patient_ref: Mapped[str | None] = mapped_column(String(24))
    patient_cpr_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    patient_born: Mapped[date | None] = mapped_column(Date)
    discharge_id: Mapped[int | None] = mapped_column(ForeignKey("discharges.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    period: Mapped[str | None] = mapped_column(String(10))
    route: Mapped[str | None] = mapped_column(String(24))
    # The code of the agreement the deciding department ran under at the time of the call (a
    # department may move to another later); None: no department, or one without an agreement.
    agreement: Mapped[str | None] = mapped_column(String(16))
    targets: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    outcome: Mapped[str | None] = mapped_column(String(12))
    connected_to: Mapped[str | None] = mapped_column(String(20))
    follow_up: Mapped[bool] = mapped_column(default=False)
    # Placed with `linje72 call` (the terminal phone): not a real contact, left out
    # of follow-up and of statistics.
    test_call: Mapped[bool] = mapped_column(default=False)
    error: Mapped[str | None] = mapped_column(String(200))
    # When the call was added to the anonymous statistics (once, after it ended), and when its
    # personal data was removed after the retention period (app.services.retention).
    counted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the contact led to (app.values.followup.RESULTS), recorded by the department's staff
    # after a connected call or when they close its follow-up; None: not recorded.
    result: Mapped[str | None] = mapped_column(String(32))
    # When someone took the call (pressed 1, or a staffed line was put through): the time to
    # answer is this minus `started_at`.
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The statistics row the call was counted into: a follow-up closed later is added to it.
    statistic_id: Mapped[int | None] = mapped_column(ForeignKey("contact_statistics.id"))

    caller: Mapped[Caller | None] = relationship()
    department: Mapped[Department | None] = relationship()
    discharge: Mapped[Discharge | None] = relationship()
    attempts: Mapped[list[DialAttempt]] = relationship(
        back_populates="contact", order_by="DialAttempt.position"
    )

    def __repr__(self) -> str:
        return f"Contact({self.call_sid!r}, {self.step!r})"


class FollowUp(Base):
    """A call back owed: one per contact that ended with nobody taking it (`Contact.follow_up`).

    It is the department's (or, without a department, the fallback line's administrators') task
    on the worklist: open, claimed by one person, then closed with what it led to
    (`Contact.result`). Reminders go out while it is open and unclaimed.
    """

    __tablename__ = "follow_ups"
    __table_args__ = (Index("ix_follow_ups_department_open", "department_id", "closed_at", "opened_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), unique=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the reminders went out (to the on-call number, then to the backup): each once.
    first_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    second_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When its closing was added to the statistics (app.services.retention): once.
    counted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    contact: Mapped[Contact] = relationship()
    department: Mapped[Department | None] = relationship()

    def __repr__(self) -> str:
        return f"FollowUp({self.contact_id}, closed={self.closed_at is not None})"


class VoiceMessage(Base):
    """The caller's message left after nobody answered: copied from the provider, kept encrypted.

    The provider's copy is deleted once ours is stored (`provider_deleted_at`); staff play it
    through the app, never from a provider URL.
    """

    __tablename__ = "voice_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), unique=True)
    recording_sid: Mapped[str] = mapped_column(String(64), unique=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seconds: Mapped[int] = mapped_column(default=0)
    content_type: Mapped[str] = mapped_column(String(40), default="audio/mpeg")
    audio_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)  # None until copied
    stored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The provider account the recording is in (from its signed callback): the scheduler's retries need it.
    account_sid: Mapped[str | None] = mapped_column(String(34))
    # Why copying or deleting at the provider last failed (never a URL); None once it worked.
    error: Mapped[str | None] = mapped_column(String(200))

    contact: Mapped[Contact] = relationship()

    def __repr__(self) -> str:
        return f"VoiceMessage({self.contact_id}, {self.seconds} s)"


class DialAttempt(Base):
    """One number rung during a call, and what came of it."""

    __tablename__ = "dial_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    position: Mapped[int]
    number: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # None while ringing; then accepted (pressed 1), answered (a staffed line put through),
    # rejected, no-answer, busy or failed.
    status: Mapped[str | None] = mapped_column(String(10))

    contact: Mapped[Contact] = relationship(back_populates="attempts")

    def __repr__(self) -> str:
        return f"DialAttempt({self.position}, {self.status!r})"


class SpooledRecord(Base):
    """A record of the outage spool (app.data.spool) that has been written into the contacts.

    Drained in the same transaction as its call's contact, so that draining a record again
    (a crash between the commit and the spool's removal, a copy of the spool) changes nothing.
    """

    __tablename__ = "spooled_records"

    record_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), index=True)
    spooled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    drained_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"SpooledRecord({self.record_id!r}, {self.call_sid!r})"


class ContactStatistic(Base):
    """How many calls of one kind a day: anonymous counts that outlive the calls' personal data.

    One row per Copenhagen day, department, period, route, outcome, caller kind, the patient's
    municipality and the department's agreement ("" where the call had none). Each ended call is
    added once (`Contact.counted_at`), before the retention removes anything from it, so that a
    month's figures are the same before and after a purge. Test calls are left out. The region's
    dashboard reads only this table: it never touches a call, let alone a patient.
    """

    __tablename__ = "contact_statistics"
    __table_args__ = (
        Index(
            "uq_contact_statistics_bucket",
            "day",
            "department",
            "period",
            "route",
            "outcome",
            "caller_kind",
            "municipality",
            "agreement",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    department: Mapped[str] = mapped_column(String(32), default="")  # the department's code
    period: Mapped[str] = mapped_column(String(10), default="")
    route: Mapped[str] = mapped_column(String(24), default="")
    outcome: Mapped[str] = mapped_column(String(12), default="")
    caller_kind: Mapped[str] = mapped_column(String(20), default="")
    # The patient's home municipality, from the stay the call was about ("" without one).
    municipality: Mapped[str] = mapped_column(String(100), default="")
    # The department's agreement when the call was counted ("" for the deployment's own settings):
    # departments change agreements (the 2027 merger), and a call stays under the one it had.
    agreement: Mapped[str] = mapped_column(String(16), default="")
    calls: Mapped[int] = mapped_column(default=0)
    follow_ups: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)  # numbers rung, in all
    seconds: Mapped[int] = mapped_column(default=0)  # the calls' length, in all
    # Calls someone took (accepted with 1, or a staffed line put through), the seconds from the
    # call's start to that moment in all, and the same calls by how long that took (disjoint
    # bands, upper bounds in app.services.statistics.ANSWER_BANDS), for medians and the 90th percentile.
    answered: Mapped[int] = mapped_column(default=0)
    answer_seconds: Mapped[int] = mapped_column(default=0)
    answered_30: Mapped[int] = mapped_column(default=0)
    answered_60: Mapped[int] = mapped_column(default=0)
    answered_90: Mapped[int] = mapped_column(default=0)
    answered_120: Mapped[int] = mapped_column(default=0)
    answered_180: Mapped[int] = mapped_column(default=0)
    answered_later: Mapped[int] = mapped_column(default=0)
    # Follow-ups (call-backs) of these calls closed so far, and their time open in all, in seconds.
    follow_ups_closed: Mapped[int] = mapped_column(default=0)
    follow_up_seconds: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"ContactStatistic({self.day!r}, {self.department!r}, {self.route!r}, {self.calls})"


class HealthCouncil(Base):
    """One municipality's health council (sundhedsråd): the region's grouping of municipalities.

    Configuration the region imports (`linje72 import health-councils`); a municipality is in
    at most one council.
    """

    __tablename__ = "health_councils"

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality: Mapped[str] = mapped_column(String(100), unique=True)
    council: Mapped[str] = mapped_column(String(100), index=True)

    def __repr__(self) -> str:
        return f"HealthCouncil({self.council!r}, {self.municipality!r})"


class SecurityEvent(Base):
    """Something the administrators should know about: a lockout, a look-up limit, failed codes.

    Never holds a CPR number; a caller is given by number or registered unit.
    """

    __tablename__ = "security_events"
    __table_args__ = (Index("ix_security_events_number_kind_at", "caller_number", "kind", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    kind: Mapped[str] = mapped_column(String(30))
    caller_number: Mapped[str | None] = mapped_column(String(40))
    caller_id: Mapped[int | None] = mapped_column(ForeignKey("callers.id"))
    call_sid: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(String(200), default="")

    caller: Mapped[Caller | None] = relationship()

    def __repr__(self) -> str:
        return f"SecurityEvent({self.kind!r})"


class PatientLookup(Base):
    """One patient read back on a call: by whom, and whether a discharge matched (pseudonym only)."""

    __tablename__ = "patient_lookups"
    __table_args__ = (Index("ix_patient_lookups_caller_at", "caller_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    caller_id: Mapped[int | None] = mapped_column(ForeignKey("callers.id"))
    patient_ref: Mapped[str] = mapped_column(String(24))
    matched: Mapped[bool] = mapped_column(default=False)

    def __repr__(self) -> str:
        return f"PatientLookup({self.patient_ref!r})"


user_departments = Table(
    "user_departments",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    """A person who uses the console: a planner, a department's staff, the region, an admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(2), default="da")
    disabled: Mapped[bool] = mapped_column(default=False)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Changes when the password does: sessions made with the old one end.
    session_version: Mapped[int] = mapped_column(default=1)

    departments: Mapped[list[Department]] = relationship(
        secondary=user_departments, order_by="Department.code"
    )

    def __repr__(self) -> str:
        return f"User({self.email!r}, {self.role!r})"


class AuditEvent(Base):
    """One thing someone did or saw in the console: append-only, never updated or deleted."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor: Mapped[str] = mapped_column(String(254))  # the email as it was, or what was typed at login
    action: Mapped[str] = mapped_column(String(40), index=True)
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[str] = mapped_column(String(500), default="")
    address: Mapped[str] = mapped_column(String(64), default="")

    def __repr__(self) -> str:
        return f"AuditEvent({self.action!r}, {self.actor!r})"


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _audit_is_append_only(_mapper: Any, _connection: Any, audit: AuditEvent) -> None:
    raise ValueError("the audit log is append-only: an event is never changed or removed")


class ApiToken(Base):
    """A calling system's key to the API: shown once, stored as a hash, with scopes; revocable."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(200))  # space-separated: read, rota, discharges
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"ApiToken({self.name!r})"


class RotaVersion(Base):
    """One publish of a rota: who, when, from which file, what it changed. Restorable."""

    __tablename__ = "rota_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(254))
    source: Mapped[str] = mapped_column(String(10))  # web, cli, api, restore
    file_name: Mapped[str] = mapped_column(String(255), default="")
    file_hash: Mapped[str] = mapped_column(String(64), default="")  # SHA-256 of the file's bytes
    shifts: Mapped[int] = mapped_column(default=0)
    added: Mapped[int] = mapped_column(default=0)
    removed: Mapped[int] = mapped_column(default=0)
    changed: Mapped[int] = mapped_column(default=0)
    restored_from_id: Mapped[int | None] = mapped_column(ForeignKey("rota_versions.id"))

    departments: Mapped[list[RotaVersionDepartment]] = relationship(
        back_populates="version", order_by="RotaVersionDepartment.id"
    )

    def __repr__(self) -> str:
        return f"RotaVersion({self.id!r}, {self.file_name!r})"


class RotaVersionDepartment(Base):
    """What one publish put in place for one department: its period and its shifts, as published."""

    __tablename__ = "rota_version_departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("rota_versions.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    # [[role, start ISO (UTC), end ISO (UTC), name, phone], …]: enough to publish it again.
    shifts: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    added: Mapped[int] = mapped_column(default=0)
    removed: Mapped[int] = mapped_column(default=0)
    changed: Mapped[int] = mapped_column(default=0)

    version: Mapped[RotaVersion] = relationship(back_populates="departments")
    department: Mapped[Department] = relationship()


class RotaDraft(Base):
    """An uploaded rota, checked and waiting to be published (or discarded); nothing live yet."""

    __tablename__ = "rota_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor: Mapped[str] = mapped_column(String(254))
    source: Mapped[str] = mapped_column(String(10))
    file_name: Mapped[str] = mapped_column(String(255), default="")
    file_hash: Mapped[str] = mapped_column(String(64), default="")
    # The checked shifts: [{department, role, start, end, name, phone, row, place}, …] (times UTC ISO).
    records: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The periods replaced, per department code: [start ISO, end ISO] (a scheduling system may name them).
    scope: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    # What the checks found: {"errors": [...], "warnings": [...], "notes": [...]} as lines.
    findings: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="draft")  # draft, published, discarded
    version_id: Mapped[int | None] = mapped_column(ForeignKey("rota_versions.id"))

    def __repr__(self) -> str:
        return f"RotaDraft({self.id!r}, {self.status!r})"


class RotaOverride(Base):
    """Someone covering instead of a rota person (or in a gap) for a stretch; kept apart from the
    rota so that a new upload does not undo it. Never changed in place: an edit or a withdrawal
    ends the row (`ended_at`) and an edit adds a new one that names it (`previous_id`)."""

    __tablename__ = "rota_overrides"
    __table_args__ = (Index("ix_rota_overrides_department_end", "department_id", "end_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    role: Mapped[str] = mapped_column(String(10))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(20))
    replaces_name: Mapped[str] = mapped_column(String(200), default="")
    replaces_phone: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(254))
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("rota_overrides.id"))

    department: Mapped[Department] = relationship()

    def __repr__(self) -> str:
        return f"RotaOverride({self.id!r}, {self.name!r})"


class CalendarFeed(Base):
    """A secret iCalendar address for one person's shifts or a department's whole rota; revocable."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))  # the person's; None: the department's feed
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(254))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    department: Mapped[Department] = relationship()

    def __repr__(self) -> str:
        return f"CalendarFeed({self.id!r}, {self.name!r})"


class PlannerPhone(Base):
    """A number that hears of a department's rota gaps; `mobile` ones get SMS (Danish numbers do
    not tell mobile from landline), the others a voice call."""

    __tablename__ = "planner_phones"
    __table_args__ = (Index("uq_planner_phones_department_phone", "department_id", "phone", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    phone: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200), default="")
    mobile: Mapped[bool] = mapped_column(default=True)

    department: Mapped[Department] = relationship()

    def __repr__(self) -> str:
        return f"PlannerPhone({self.phone!r})"


class GapAlert(Base):
    """A rota gap the planners were told of: once when found, again when it is a day away."""

    __tablename__ = "gap_alerts"
    __table_args__ = (Index("ix_gap_alerts_department_start", "department_id", "start_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    found_at: Mapped[datetime] = mapped_column(UTCDateTime)
    near_alert_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the "a day away" message
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # covered since

    department: Mapped[Department] = relationship()

    def __repr__(self) -> str:
        return f"GapAlert({self.id!r})"


class OutgoingMessage(Base):
    """An SMS or voice call the line sent to staff (never with patient data), and its delivery."""

    __tablename__ = "outgoing_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    channel: Mapped[str] = mapped_column(String(5))  # sms, voice
    to_number: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(String(20))  # gap, gap_near, override_link
    body: Mapped[str] = mapped_column(String(1000))
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(String(200))
    gap_alert_id: Mapped[int | None] = mapped_column(ForeignKey("gap_alerts.id"), index=True)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("outgoing_messages.id"))  # the failed SMS
    # The call-back task a reminder is about (purpose followup_first or followup_second).
    follow_up_id: Mapped[int | None] = mapped_column(ForeignKey("follow_ups.id"), index=True)

    def __repr__(self) -> str:
        return f"OutgoingMessage({self.channel!r}, {self.status!r})"


class GapCheck(Base):
    """One look at the rota's gaps ahead by the scheduler: when, why, how far, what it found.

    `marker` fingerprints what can open or close a gap (publishes, overrides, the
    departments' own phones): the scheduler's poll checks again when it changes.
    """

    __tablename__ = "gap_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    reason: Mapped[str] = mapped_column(String(10))  # morning, change, start
    marker: Mapped[str] = mapped_column(String(64))
    horizon_end: Mapped[datetime] = mapped_column(UTCDateTime)
    gaps: Mapped[int] = mapped_column(default=0)
    new: Mapped[int] = mapped_column(default=0)
    closed: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"GapCheck({self.id!r}, {self.reason!r})"


class Agreement(Base):
    """A regional agreement departments run under: its rules as stored (see routing.Agreement)."""

    __tablename__ = "agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    line_name: Mapped[str] = mapped_column(String(60), default="72-timers-linjen")
    window_hours: Mapped[int] = mapped_column(default=72)
    min_age: Mapped[int | None] = mapped_column()
    municipalities: Mapped[list[str]] = mapped_column(JSON, default=list)
    short_stay_hours: Mapped[int] = mapped_column(default=24)
    nursing_home_short_stays: Mapped[bool] = mapped_column(default=False)
    psychiatry: Mapped[bool] = mapped_column(default=False)
    nurse_first: Mapped[bool] = mapped_column(default=False)
    after_hours_number: Mapped[str] = mapped_column(String(20))
    fallback_number: Mapped[str] = mapped_column(String(20))
    day_hours: Mapped[str | None] = mapped_column(String(11))
    closed_days: Mapped[list[str]] = mapped_column(JSON, default=list)  # "MM-DD"
    half_days: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # "MM-DD": "HH:MM" (closes)

    def __repr__(self) -> str:
        return f"Agreement({self.code!r})"
