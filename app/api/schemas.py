"""What the API sends and takes, described once for the responses and the OpenAPI document."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

# A code or name in a query string: no NUL or other control character (PostgreSQL refuses NUL in
# text, and no code has one): a 422 naming the parameter, never a database error.
NO_CONTROL_CHARACTERS = validate.Regexp(r"\A[^\x00-\x1f\x7f]*\Z", error="must not contain control characters")


class DepartmentSchema(Schema):
    code = fields.String(required=True, metadata={"example": "RH-KARD"})
    name = fields.String(required=True)
    hospital = fields.String(required=True)
    day_hours = fields.String(allow_none=True, metadata={"description": "the department's own day hours"})
    day_phone = fields.String(required=True)
    oncall_phone = fields.String(allow_none=True)
    switchboard_phone = fields.String(required=True)


class TargetSchema(Schema):
    number = fields.String(required=True, metadata={"example": "+4540101002"})
    label = fields.String(
        required=True,
        metadata={
            "description": "why it is in the chain: nurse, day, oncall, department_day, department_oncall, "
            "backup, switchboard, fallback"
        },
    )
    name = fields.String(metadata={"description": "the person on the rota, when there is one"})
    pool = fields.String(
        allow_none=True,
        metadata={"description": "the on-call pool (a department's code) the entry comes from, when it does"},
    )


class OncallSchema(Schema):
    department = fields.String(required=True)
    at = fields.String(required=True, metadata={"description": "the moment, ISO 8601 in Copenhagen time"})
    period = fields.String(required=True, validate=validate.OneOf(["day", "oncall"]))
    gap = fields.Boolean(
        required=True, metadata={"description": "no one of the department's own answers first"}
    )
    targets = fields.List(fields.Nested(TargetSchema), required=True)
    agreement = fields.String(
        required=True,
        metadata={"description": "the code of the agreement it runs under (`default`: the deployment's own)"},
    )
    nurses_first = fields.List(
        fields.Nested(TargetSchema),
        required=True,
        metadata={
            "description": "under a nurse-first agreement, the nurses a nursing caller (home nursing, "
            "nursing homes, acute nursing teams) reaches before `targets`; empty otherwise"
        },
    )


class AtQuery(Schema):
    at = fields.String(metadata={"description": "ISO 8601; without an offset, Copenhagen time; default now"})


class ContactQuery(Schema):
    since = fields.String(metadata={"description": "from this time (ISO 8601), inclusive"})
    until = fields.String(metadata={"description": "before this time (ISO 8601)"})
    agreement = fields.String(
        validate=[validate.Length(max=16), NO_CONTROL_CHARACTERS],
        metadata={
            "description": "only the calls that ran under this agreement (its code, e.g. SJ); "
            "`default`: under the deployment's own settings",
            "example": "SJ",
        },
    )
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class DialledSchema(Schema):
    number = fields.String(required=True)
    status = fields.String(allow_none=True)


class ContactSchema(Schema):
    """One call, as in the contact export (no CPR number; the patient by pseudonym)."""

    call_sid = fields.String(required=True)
    started_at = fields.String(required=True)
    ended_at = fields.String(allow_none=True)
    caller_number = fields.String()
    caller_organisation = fields.String(allow_none=True)
    caller_kind = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    period = fields.String(allow_none=True)
    route = fields.String(allow_none=True)
    patient_ref = fields.String(allow_none=True)
    dialled = fields.List(fields.Nested(DialledSchema))
    connected_to = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    follow_up = fields.Boolean()
    test_call = fields.Boolean()
    agreement = fields.String(
        required=True,
        metadata={
            "description": "the code of the agreement the deciding department ran under at the time of "
            "the call (kept when the department moves later); `default` when no department decided or "
            "it had no agreement (the deployment's own settings)",
            "example": "SJ",
        },
    )


class ContactPageSchema(Schema):
    items = fields.List(fields.Nested(ContactSchema), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


class FollowUpQuery(Schema):
    department = fields.String(
        validate=[validate.Length(max=32), NO_CONTROL_CHARACTERS],
        metadata={"description": "only this department's tasks (its code)"},
    )
    status = fields.String(
        load_default="open",
        validate=validate.OneOf(("open", "closed", "all")),
        metadata={"description": "open (the default), closed or all"},
    )
    since = fields.String(metadata={"description": "opened or closed from this time (ISO 8601)"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class FollowUpSchema(Schema):
    """A call-back task: the patient by birth date and pseudonym, never the CPR number."""

    id = fields.Integer(required=True)
    opened_at = fields.String(required=True)
    department = fields.String(allow_none=True, metadata={"description": "none: the administrators' list"})
    caller_organisation = fields.String(allow_none=True)
    caller_kind = fields.String(allow_none=True)
    callback_number = fields.String(allow_none=True, metadata={"description": "E.164; none: withheld"})
    patient_born = fields.String(allow_none=True, metadata={"description": "DDMMYY-xxxx"})
    patient_ref = fields.String(allow_none=True)
    voice_message = fields.Boolean(required=True)
    overdue = fields.Boolean(required=True)
    claimed_by = fields.String(allow_none=True)
    claimed_at = fields.String(allow_none=True)
    closed_by = fields.String(allow_none=True)
    closed_at = fields.String(allow_none=True)
    result = fields.String(allow_none=True, metadata={"description": "what the call back led to"})
    link = fields.String(required=True, metadata={"description": "the task in the console (login required)"})


class FollowUpPageSchema(Schema):
    items = fields.List(fields.Nested(FollowUpSchema), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


class ProblemSchema(Schema):
    """RFC 9457 problem details; `errors` by field path (never with a CPR number)."""

    type = fields.String()
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
