"""What the discharge endpoints send and take, for the responses and the OpenAPI document."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api.schemas import ProblemSchema
from app.services.responsibility import END_REASONS, State

ISO = "ISO 8601; without an offset, Copenhagen time (a time the clocks skip or repeat needs one)"
DESTINATIONS = ["temporary_stay", "nursing_home", "home_nursing", "residential", "other"]
RESULTS = ["added", "updated", "unchanged"]

# Each discharge is read by the discharges file's own checks (`app.intake.discharges`), so that a
# problem is named by its path ([3].discharged_at) in the file's words; the document says its shape.
DISCHARGE_IN = {
    "type": "object",
    "required": ["id", "cpr", "department", "discharged_at", "destination"],
    "properties": {
        "id": {
            "type": "string",
            "maxLength": 64,
            "description": "the hospital's id of the stay (upsert key)",
        },
        "cpr": {
            "type": "string",
            "description": "10 digits (a dash allowed), or a replacement CPR number with letters",
            "examples": ["0101401234"],
        },
        "department": {"type": "string", "description": "our department code", "examples": ["RH-KARD"]},
        "discharged_at": {"type": "string", "description": ISO, "examples": ["2026-11-21T10:30:00+01:00"]},
        "destination": {"type": "string", "enum": DESTINATIONS},
        "admitted_at": {"type": ["string", "null"], "description": ISO},
        "municipality": {"type": ["string", "null"], "maxLength": 100},
        "gp_phone": {
            "type": ["string", "null"],
            "description": "the patient's GP (a Danish or E.164 number)",
        },
        "responsibility_until": {
            "type": ["string", "null"],
            "description": f"the hospital's stated end of the responsibility ({ISO}); null leaves an "
            "extension the department made in place",
        },
    },
    "additionalProperties": False,
}
DISCHARGES_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    DISCHARGE_IN,
                    {"type": "array", "items": DISCHARGE_IN, "minItems": 1, "maxItems": 5000},
                ]
            }
        }
    },
}


class ItemResultSchema(Schema):
    index = fields.Integer(required=True, metadata={"description": "the item's 0-based place in the request"})
    id = fields.String(required=True, metadata={"description": "the hospital's id of the stay"})
    result = fields.String(required=True, validate=validate.OneOf(RESULTS))


class StoredSchema(Schema):
    """What a request did: counts, and per item its result."""

    added = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True, metadata={"description": "repeats with the same content"})
    items = fields.List(fields.Nested(ItemResultSchema), required=True)


class DischargeProblemSchema(ProblemSchema):
    """RFC 9457 problem details; `errors` by field path, never with a CPR number."""

    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "by field path: [3].discharged_at in a batch, discharged_at for one"},
    )


class PatientSchema(Schema):
    """A stay as the department sees it: the birth date, never the CPR number."""

    id = fields.String(required=True, metadata={"description": "the hospital's id of the stay"})
    department = fields.String(required=True)
    born = fields.String(required=True, metadata={"description": "the birth date part only: 010140-xxxx"})
    state = fields.String(required=True, validate=validate.OneOf([state.value for state in State]))
    admitted_at = fields.String(allow_none=True)
    discharged_at = fields.String(allow_none=True)
    destination = fields.String(allow_none=True)
    municipality = fields.String(allow_none=True)
    target_group = fields.Boolean(
        allow_none=True,
        metadata={"description": "null: not known (a notification): mark it to open the window"},
    )
    until = fields.String(
        allow_none=True, metadata={"description": "the window's end, extension and early end applied"}
    )
    extended = fields.Boolean(required=True)
    ended_at = fields.String(allow_none=True)
    ended_reason = fields.String(allow_none=True)


class PatientsSchema(Schema):
    department = fields.String(required=True)
    at = fields.String(required=True)
    active = fields.List(fields.Nested(PatientSchema), required=True, metadata={"description": "held now"})
    to_mark = fields.List(
        fields.Nested(PatientSchema),
        required=True,
        metadata={"description": "discharges reported without a target group, whose window would be open"},
    )
    admitted = fields.List(
        fields.Nested(PatientSchema), required=True, metadata={"description": "in hospital"}
    )


class StayChangedSchema(PatientSchema):
    changed = fields.Boolean(required=True, metadata={"description": "false: it was already so"})


class ExtendSchema(Schema):
    until = fields.String(
        required=True, metadata={"description": f"the new end, after the current one ({ISO})"}
    )
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class EndSchema(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(END_REASONS))
    at = fields.String(load_default=None, allow_none=True, metadata={"description": f"default now ({ISO})"})


class MarkSchema(Schema):
    pass
