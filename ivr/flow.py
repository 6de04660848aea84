"""The call flow (routing-policy.md, "The call, step by step") as a service.

Each webhook is one method: it loads the call's state by CallSid, moves it one
step on, and returns a `Reply` that the view renders as TwiML. The state lives in
the `contacts` row, so consecutive webhooks of one call may be served by different
processes. Nothing here reads the clock or Flask: `now` and the session come in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.config import Limits, Policy
from app.data.models import Caller, Contact, DialAttempt
from app.services import contacts, misuse, voice
from app.services.agreements import Wording, remember_wording, wording
from app.services.directory import identify_caller
from app.services.patients import decide_for_patient
from app.values.callers import unit_code
from app.values.cpr import CprError, CprVault, parse
from app.values.phones import normalise_caller_id
from ivr import prompts
from routing import Route, Target, local_date
from routing.decision import STAFFED_LABELS

MAX_TRIES = 3
# A call reads back at most this many patients: the read-back says whether a department
# holds the responsibility, so the line must not become a way to look patients up.
MAX_PATIENTS = 3
NO_CPR_KEY = "0"

# A callee who took the call: pressed 1 (accepted), or a staffed line put through (answered).
CONNECTED_STATUSES = frozenset({"accepted", "answered"})
FINAL_CALL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


@dataclass(frozen=True)
class Ask:
    """Speak and wait for keys; the answer (or silence) goes to `step`."""

    step: str
    digits: int | None = None
    finish_on_key: str = "#"
    timeout: int = 8
    attempt_id: int | None = None


@dataclass(frozen=True)
class DialOut:
    """Ring one number; the callee hears the whisper first."""

    attempt_id: int
    number: str
    caller_id: str | None
    ring_seconds: int


@dataclass(frozen=True)
class RecordMessage:
    """Record the caller's message after a beep; the recording goes to `step`, silence hears `silence`."""

    step: str = "message"
    max_seconds: int = 60
    finish_on_key: str = "#"
    silence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reply:
    """What to say, then what to do: ask, dial, record, connect (bridge) or hang up (None)."""

    language: str
    said: tuple[str, ...] = ()
    then: Ask | DialOut | RecordMessage | None = None
    bridge: bool = False
    log: dict[str, Any] = field(default_factory=dict)


class CallFlow:
    """The steps of one call, with the session, policy, vault and `now` they work with."""

    def __init__(self, session: Session, policy: Policy, vault: CprVault, now: datetime) -> None:
        # A step's changes are written once, when its transaction commits (a new attempt's
        # insert aside): a query in the middle of a step does not flush them first.
        session.autoflush = False
        self.session = session
        self.policy = policy
        self.vault = vault
        self.now = now

    # --- the caller's side -------------------------------------------------

    def incoming(self, call_sid: str, from_number: str | None, *, test_call: bool = False) -> Reply:
        """Greet a known caller and ask for the patient; ask anyone else for a unit code."""
        contact = self._load(call_sid)
        if contact is not None:
            return self._resume(contact)
        contact = self._new_contact(call_sid, from_number, test_call=test_call)
        number = normalise_caller_id(from_number)
        caller = identify_caller(self.session, phone=number) if number else None
        if caller is None:
            if misuse.is_locked_out(self.session, number, self.limits, self.now):
                misuse.record_event(self.session, misuse.LOCKED_OUT_CALL, self.now, contact)
                return self._refuse(contact, "locked_out", Route.UNIDENTIFIED_CALLER, "not_professional")
            return self._ask_code(contact, "ask_code")
        return self._welcome(contact, caller)

    def caller_code(self, call_sid: str, from_number: str | None, digits: str) -> Reply:
        """Identify the caller by the unit code typed in; three failures go to the fallback."""
        contact = self._load(call_sid)
        if contact is None:
            return self._unknown_call(call_sid, from_number)
        if contact.step != "caller":
            return self._resume(contact)
        code = unit_code(digits)
        caller = identify_caller(self.session, code=code) if code else None
        if caller is not None:
            return self._welcome(contact, caller)
        contact.tries += 1
        number = normalise_caller_id(contact.caller_number)
        if misuse.unit_code_failed(self.session, contact, number, self.limits, self.now):
            return self._refuse(contact, "locked_out", Route.UNIDENTIFIED_CALLER, "not_professional")
        if contact.tries >= MAX_TRIES:
            return self._forward_to_fallback(contact, Route.UNIDENTIFIED_CALLER, "not_professional")
        return self._ask_code(contact, "code_retry")

    def patient(self, call_sid: str, from_number: str | None, digits: str) -> Reply:
        """Take the CPR number, decide the route and read back what was found."""
        contact = self._load(call_sid)
        if contact is None:
            return self._unknown_call(call_sid, from_number)
        if contact.step != "patient":
            return self._resume(contact)
        keys = digits.strip().rstrip("#")
        if keys == NO_CPR_KEY:
            return self._forward_to_fallback(contact, Route.INVALID_PATIENT, "no_cpr")
        today = local_date(self.now)
        try:
            number, born = parse(keys, today)
        except CprError:
            contact.tries += 1
            if contact.tries >= MAX_TRIES:
                return self._forward_to_fallback(contact, Route.INVALID_PATIENT, "cpr_failed")
            return self._ask_patient(contact, "cpr_retry")
        self._decide(contact, number)
        misuse.record_lookup(self.session, contact, contact.discharge is not None, self.now)
        contact.patient_born = born
        contact.patients_read_back += 1
        contact.step = "confirm"
        contact.tries = 0
        return self._read_back(contact)

    def confirm(self, call_sid: str, from_number: str | None, digits: str) -> Reply:
        """1 connects, 2 starts the patient step afresh; three misses go to the fallback."""
        contact = self._load(call_sid)
        if contact is None:
            return self._unknown_call(call_sid, from_number)
        if contact.step != "confirm":
            return self._resume(contact)
        key = digits.strip()
        if key == "1":
            return self._dial_next(contact, "connecting")
        if key == "2":
            if contact.patients_read_back >= MAX_PATIENTS:
                return self._forward_to_fallback(contact, Route.INVALID_PATIENT, "too_many_patients")
            self._forget_patient(contact)
            if misuse.lookups_exhausted(self.session, contact.caller_id, self.limits, self.now):
                return self._refuse_lookups(contact)
            contact.step = "patient"
            contact.tries = 0
            return self._ask_patient(contact, "ask_cpr")
        contact.tries += 1
        if contact.tries >= MAX_TRIES:
            return self._forward_to_fallback(contact, Route.INVALID_PATIENT, "confirm_failed")
        return self._read_back(contact, retry=True)

    def dial_result(self, call_sid: str, attempt_id: int, dial_status: str) -> Reply:
        """Record how a ring ended and ring the next target, or end a connected call."""
        contact = self._load(call_sid)
        attempt = self._attempt(attempt_id, call_sid)
        if contact is None or attempt is None:
            return self._unknown_call(call_sid, None)
        if attempt.status in CONNECTED_STATUSES:
            contact.step = "ended"
            contact.ended_at = contact.ended_at or self.now
            return Reply(contact.language)
        if attempt.status is None:
            attempt.status = contacts.dial_status(dial_status)
            attempt.ended_at = self.now
        contact.updated_at = self.now
        if contact.outcome is not None or contact.step == "ended":
            return Reply(contact.language)
        return self._dial_next(contact, "next_target")

    def message_left(self, call_sid: str, recording_sid: str, account_sid: str, seconds: str) -> Reply:
        """The caller's message ended (`<Record>`'s action): note it, thank them and end the call."""
        contact = self._load(call_sid)
        if contact is None:
            return self._unknown_call(call_sid, None)
        if contact.step not in ("message", "ended") or contact.outcome != "unanswered":
            return self._resume(contact)
        message = voice.note_recording(self.session, contact, recording_sid, account_sid, seconds, self.now)
        contact.step = "ended"
        contact.updated_at = self.now
        key = "message_thanks" if message is not None else "message_none"
        return Reply(contact.language, (prompts.say(contact.language, key),))

    def status(self, call_sid: str, from_number: str | None, call_status: str) -> None:
        """Close the record when the call ends; a caller who left before anyone accepted abandoned."""
        if call_status not in FINAL_CALL_STATUSES:
            return
        contact = self._load(call_sid) or self._new_contact(call_sid, from_number)
        contacts.close_contact(contact, self.now)

    # --- the callee's side (the whisper) -------------------------------------

    def whisper(self, attempt_id: int, parent_sid: str) -> Reply:
        """The callee answered: a staffed line is put through; anyone else must press 1 first."""
        attempt = self._attempt(attempt_id, parent_sid)
        if attempt is None or attempt.status is not None:
            return Reply("da")
        contact = attempt.contact
        if self._caller_gone(contact, attempt):
            return Reply("da")
        if attempt.label in STAFFED_LABELS:
            self._took_the_call(contact, attempt, "answered", "forwarded")
            line = self._wording(contact).line
            said = [prompts.WHISPER["staffed"].format(line=line, organisation=self._organisation(contact))]
            if contact.refusal and attempt.label == "fallback":
                said.append(prompts.WHISPER[f"refusal_{contact.refusal}"])
            return Reply("da", tuple(said), bridge=True, log={"forwarded": attempt.position})
        # Nothing about the call before the 1: a voicemail or a wrong number learns nothing.
        return Reply(
            "da",
            (prompts.WHISPER["accept"].format(line=self._wording(contact).line),),
            Ask("whisper_answer", digits=1, finish_on_key="", timeout=6, attempt_id=attempt.id),
        )

    def whisper_answer(self, attempt_id: int, parent_sid: str, digits: str) -> Reply:
        """Connect on 1; any other key or silence sends the caller on down the chain."""
        attempt = self._attempt(attempt_id, parent_sid)
        if attempt is None or attempt.status is not None:
            return Reply("da")
        contact = attempt.contact
        if self._caller_gone(contact, attempt):
            return Reply("da")
        if digits.strip() == "1":
            self._took_the_call(contact, attempt, "accepted", "connected")
            return Reply("da", (self._context(contact),), bridge=True, log={"accepted": attempt.position})
        attempt.status = "rejected"
        attempt.ended_at = self.now
        return Reply("da")

    def _caller_gone(self, contact: Contact, attempt: DialAttempt) -> bool:
        """A callee who answers after the caller has left: their attempt ends as rejected."""
        if contact.outcome is None:
            return False
        attempt.status = "rejected"
        attempt.ended_at = self.now
        return True

    def _took_the_call(self, contact: Contact, attempt: DialAttempt, status: str, outcome: str) -> None:
        """The callee took the call (pressed 1, or a staffed line put through): nobody else is rung."""
        attempt.status = status
        attempt.ended_at = self.now
        contact.outcome = outcome
        contact.connected_to = attempt.number
        contact.answered_at = self.now
        contact.follow_up = False
        contact.updated_at = self.now

    def _organisation(self, contact: Contact) -> str:
        return contact.caller_organisation or prompts.WHISPER["unknown_caller"]

    def _context(self, contact: Contact) -> str:
        """Who calls about whom: told to the callee only after the 1."""
        organisation = self._organisation(contact)
        if contact.patient_born is None:
            return prompts.WHISPER["unknown_patient"].format(organisation=organisation)
        department = contact.department.name if contact.department else None
        return prompts.WHISPER["known"].format(
            organisation=organisation,
            department=department or prompts.WHISPER["no_department"],
            born=prompts.spoken_date(contact.patient_born, "da"),
        )

    # --- when things go wrong ----------------------------------------------

    def fail_safe(self, call_sid: str, from_number: str | None, what: str) -> Reply:
        """After an error in a step: record it and forward the caller to the fallback number."""
        contact = self._load(call_sid) or self._new_contact(call_sid, from_number)
        contact.error = what[:200]
        if contact.outcome is not None:  # the call was already over: nobody to forward
            return Reply(contact.language)
        return self._forward_to_fallback(contact, contacts.route_so_far(contact), "technical")

    def _unknown_call(self, call_sid: str, from_number: str | None) -> Reply:
        return self.fail_safe(call_sid, from_number, "a webhook came for a call whose state was not found")

    # --- helpers -------------------------------------------------------------

    def _load(self, call_sid: str) -> Contact | None:
        return contacts.find_contact(self.session, call_sid)

    def _attempt(self, attempt_id: int, call_sid: str) -> DialAttempt | None:
        """Return the attempt when it belongs to the call `call_sid` (else None: the leg hangs up)."""
        contact = self._load(call_sid)  # locked, with its attempts
        if contact is None:
            return None
        return next((attempt for attempt in contact.attempts if attempt.id == attempt_id), None)

    def _new_contact(self, call_sid: str, from_number: str | None, *, test_call: bool = False) -> Contact:
        period = self.policy.calendar.period(self.now)
        return contacts.open_contact(
            self.session, call_sid, from_number, self.now, period, test_call=test_call
        )

    @property
    def limits(self) -> Limits:
        return self.policy.limits

    def _welcome(self, contact: Contact, caller: Caller) -> Reply:
        """Greet an identified caller and ask for the patient, unless its look-ups are used up."""
        self._identify(contact, caller)
        if misuse.lookups_exhausted(self.session, caller.id, self.limits, self.now):
            return self._refuse_lookups(contact)
        return self._ask_patient(contact, "welcome_known", "ask_cpr")

    def _refuse_lookups(self, contact: Contact) -> Reply:
        """The caller has looked up as many patients as the hour allows: straight to the fallback."""
        misuse.record_event(
            self.session,
            misuse.LOOKUP_LIMIT,
            self.now,
            contact,
            f"{self.limits.lookups_per_hour} look-ups an hour",
        )
        return self._refuse(contact, "lookup_limit", Route.INVALID_PATIENT, "lookup_limit")

    def _refuse(self, contact: Contact, refusal: str, route: Route, message: str) -> Reply:
        contact.refusal = refusal
        return self._forward_to_fallback(contact, route, message)

    def _identify(self, contact: Contact, caller: Caller) -> None:
        contact.caller = caller
        contact.caller_organisation = caller.organisation
        contact.caller_kind = caller.kind
        contact.language = caller.language or "da"
        contact.step = "patient"
        contact.tries = 0

    def _decide(self, contact: Contact, number: str) -> None:
        caller_number = normalise_caller_id(contact.caller_number)
        found = decide_for_patient(
            self.session, self.policy, self.vault, number, self.now, caller_number, contact.caller_kind
        )
        decision = found.decision
        contact.patient_ref = self.vault.pseudonym(number)
        # Keep less: a number that matches no discharge is kept only as its pseudonym.
        contact.patient_cpr_encrypted = self.vault.encrypt(number) if found.discharge else None
        contact.discharge = found.discharge
        contact.department = found.department
        # The agreement it runs under now: the record keeps it when the department moves later.
        contact.agreement = found.department.agreement if found.department else None
        if contact.agreement and found.agreement is not None:  # its wording, read with its rules
            hours = int(found.agreement.window.total_seconds() // 3600)
            remember_wording(self.session, contact.agreement, found.agreement.line_name, hours)
        contact.period = decision.period.value
        contact.route = decision.route.value
        contact.targets = _targets_json(decision.targets)

    def _forget_patient(self, contact: Contact) -> None:
        contact.patient_ref = None
        contact.patient_cpr_encrypted = None
        contact.patient_born = None
        contact.discharge = None
        contact.department = None
        contact.agreement = None
        contact.route = None
        contact.targets = []
        contact.period = self.policy.calendar.period(self.now).value

    def _wording(self, contact: Contact) -> Wording:
        """The agreement's words for the line: the deciding department's once the patient is
        known, else the caller's (a Zealand municipality hears "96-timers-linjen")."""
        code = contact.agreement
        if code is None and contact.department_id is None and contact.department is None:
            code = contact.caller.agreement if contact.caller is not None else None
        return wording(self.session, self.policy, code)

    def _ask_code(self, contact: Contact, *keys: str) -> Reply:
        line = prompts.line_in(contact.language, self._wording(contact).line)
        said = tuple(prompts.say(contact.language, key, line=line) for key in keys)
        return Reply(contact.language, said, Ask("caller", finish_on_key="#", timeout=8))

    def _ask_patient(self, contact: Contact, *keys: str) -> Reply:
        line = prompts.line_in(contact.language, self._wording(contact).line)
        values = {"organisation": contact.caller_organisation or "", "line": line}
        said = tuple(prompts.say(contact.language, key, **values) for key in keys)
        return Reply(contact.language, said, Ask("patient", digits=10, timeout=10))

    def _read_back(self, contact: Contact, *, retry: bool = False) -> Reply:
        language = contact.language
        said = [prompts.say(language, "confirm_retry")] if retry else []
        if contact.patient_born is not None:
            born = prompts.spoken_date(contact.patient_born, language)
            said.append(prompts.say(language, "born", born=born))
        # The birth date and where the call goes, nothing more: the caller ID can be spoofed,
        # so no department, hospital or date is named.
        first = contact.targets[0]["label"] if contact.targets else "fallback"
        hours = str(self._wording(contact).hours)
        if _department_holds(contact):
            said.append(prompts.say(language, "active"))
        elif first == "gp":
            said.append(prompts.say(language, "none_gp", hours=hours))
        else:
            # The after-hours line, or the switchboard when the caller is that line itself.
            where = prompts.say(language, "after_hours" if first == "after_hours" else "switchboard")
            said.append(prompts.say(language, "none_after_hours", after_hours=where, hours=hours))
        said.append(prompts.say(language, "confirm"))
        return Reply(language, tuple(said), Ask("confirm", digits=1, timeout=8))

    def _resume(self, contact: Contact) -> Reply:
        """Answer a webhook that does not fit the call's state with the current step again."""
        if contact.step == "caller":
            return self._ask_code(contact, "ask_code")
        if contact.step == "patient":
            return self._ask_patient(contact, "ask_cpr")
        if contact.step == "confirm":
            return self._read_back(contact)
        if contact.step == "dialing" and contact.outcome is None:
            for attempt in contact.attempts:
                if attempt.status is None:
                    attempt.status = "failed"
                    attempt.ended_at = self.now
            return self._dial_next(contact, "next_target")
        return Reply(contact.language, (prompts.say(contact.language, "goodbye"),))

    def _forward_to_fallback(self, contact: Contact, route: Route, message: str) -> Reply:
        """Send the caller to the fallback number after what has been tried so far."""
        contact.route = route.value
        tried = contact.targets[: len(contact.attempts)]
        caller = normalise_caller_id(contact.caller_number)
        if caller != self.policy.fallback_number and all(
            t["number"] != self.policy.fallback_number for t in tried
        ):
            fallback = Target(self.policy.fallback_number, "fallback")
            contact.targets = tried + _targets_json([fallback])
        else:
            contact.targets = tried
        return self._dial_next(contact, message)

    def _dial_next(self, contact: Contact, message: str) -> Reply:
        """Ring the next target of the chain, or tell the caller nobody could be reached."""
        language = contact.language
        position = len(contact.attempts)
        contact.step = "dialing"
        contact.updated_at = self.now
        if position >= len(contact.targets):
            contact.outcome = "unanswered"
            contacts.mark_for_follow_up(contact, self.now)
            return self._nobody(contact)
        target = contact.targets[position]
        values = {
            "position": position,
            "number": target["number"],
            "label": target["label"],
            "name": target.get("name", ""),
            "started_at": self.now,
        }
        attempt = contacts.add_attempt(self.session, contact, values)
        # The callee sees the caller's own number, so they can call back.
        caller_id = normalise_caller_id(contact.caller_number)
        return Reply(
            language,
            (prompts.say(language, message),),
            DialOut(attempt.id, attempt.number, caller_id, self.policy.ring_seconds),
        )

    def _nobody(self, contact: Contact) -> Reply:
        """Tell the caller nobody could be reached, and offer to record a message for the call back.

        A withheld number cannot be called back, but its message may still tell the department
        enough (or say the number). A test call is never followed up: it is offered no message.
        """
        language = contact.language
        if not normalise_caller_id(contact.caller_number):
            key = "nobody_no_number"
        else:
            # Only a department that holds the responsibility is promised to call back.
            key = "nobody" if _department_holds(contact) else "nobody_no_department"
        if contact.test_call:
            contact.step = "ended"
            return Reply(language, (prompts.say(language, key),))
        contact.step = "message"
        offer = "message_offer" if _department_holds(contact) else "message_offer_hospital"
        return Reply(
            language,
            (prompts.say(language, f"{key}_message"), prompts.say(language, offer)),
            RecordMessage(silence=(prompts.say(language, "message_none"),)),
        )


def _targets_json(targets: Sequence[Target]) -> list[dict[str, Any]]:
    return [{"number": t.number, "label": t.label, "name": t.name} for t in targets]


def _department_holds(contact: Contact) -> bool:
    """A department holds the patient (a window, or an admission): it is rung, and calls back."""
    return contact.route is not None and Route(contact.route).department_holds
