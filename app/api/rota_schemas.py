"""What the rota endpoints send and take, for the responses and the OpenAPI document."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api.schemas import ProblemSchema

ISO = "ISO 8601; without an offset, Copenhagen time (a time the clocks skip or repeat needs one)"
ROLES = ["day", "oncall", "backup", "nurse"]


class PeriodQuery(Schema):
    start = fields.String(data_key="from", metadata={"description": f"from this time ({ISO}); default now"})
    end = fields.String(
        data_key="to",
        metadata={"description": f"until this time ({ISO}); default 14 days on; at most 93 days"},
    )


# Each shift is read by the rota's own checks (`app.intake.rota_request`), so that a problem is
# named by its path (shifts[3].end) in the rota file's words; the document still says its shape.
SHIFT_IN = {
    "type": "object",
    "required": ["role", "start", "end", "phone"],
    "properties": {
        "role": {"type": "string", "enum": ROLES},
        "start": {"type": "string", "description": ISO, "examples": ["2026-12-01T15:00"]},
        "end": {"type": "string", "description": ISO, "examples": ["2026-12-02T08:00"]},
        "name": {"type": "string", "description": "the person's name (no control characters)"},
        "phone": {"type": "string", "description": "a Danish or E.164 number", "examples": ["+4540101002"]},
    },
    "additionalProperties": False,
}


class RotaInSchema(Schema):
    start = fields.String(required=True, metadata={"description": f"the period replaced starts ({ISO})"})
    end = fields.String(required=True, metadata={"description": f"and ends ({ISO}); at most 366 days"})
    shifts = fields.List(
        fields.Raw(metadata=SHIFT_IN),
        required=True,
        metadata={
            "description": "every shift of the period (an empty list clears it); each must start inside it"
        },
    )
    acknowledge = fields.Boolean(
        load_default=False,
        metadata={"description": "publish even with warnings or gaps (as the review lists)"},
    )
    dry_run = fields.Boolean(load_default=False, metadata={"description": "only review: publish nothing"})


class ShiftSchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    start = fields.String(required=True, metadata={"description": "ISO 8601, Copenhagen time"})
    end = fields.String(required=True)
    name = fields.String(required=True)
    phone = fields.String(required=True)


class ChangedSchema(Schema):
    old = fields.Nested(ShiftSchema, required=True)
    new = fields.Nested(ShiftSchema, required=True)


class GapSchema(Schema):
    department = fields.String(required=True)
    start = fields.String(required=True, metadata={"description": "ISO 8601, Copenhagen time"})
    end = fields.String(required=True)
    period = fields.String(required=True, validate=validate.OneOf(["day", "oncall"]))


class DepartmentReviewSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    start = fields.String(required=True, metadata={"description": "the period replaced"})
    end = fields.String(required=True)
    shifts = fields.Integer(required=True, metadata={"description": "shifts in the period after publishing"})
    added = fields.List(fields.Nested(ShiftSchema), required=True)
    removed = fields.List(fields.Nested(ShiftSchema), required=True)
    changed = fields.List(fields.Nested(ChangedSchema), required=True)
    unchanged = fields.Integer(required=True)
    counts = fields.Dict(
        keys=fields.String(), values=fields.Integer(), metadata={"description": "added, removed, changed"}
    )
    gaps = fields.List(fields.Nested(GapSchema), required=True)


class ReviewSchema(Schema):
    """What publishing would do: errors block it, warnings and gaps need `acknowledge`, notes are shown."""

    errors = fields.List(fields.String(), required=True)
    warnings = fields.List(fields.String(), required=True)
    notes = fields.List(fields.String(), required=True)
    publishable = fields.Boolean(required=True)
    needs_acknowledgement = fields.Boolean(required=True)
    departments = fields.List(fields.Nested(DepartmentReviewSchema), required=True)
    gaps = fields.List(fields.Nested(GapSchema), required=True)


class VersionDepartmentSchema(Schema):
    code = fields.String(required=True)
    start = fields.String(required=True)
    end = fields.String(required=True)
    shifts = fields.Integer(required=True)
    added = fields.Integer(required=True)
    removed = fields.Integer(required=True)
    changed = fields.Integer(required=True)


class VersionSchema(Schema):
    id = fields.Integer(required=True)
    published_at = fields.String(required=True)
    actor = fields.String(required=True)
    source = fields.String(required=True, metadata={"description": "web, cli, api, restore, demo"})
    file_name = fields.String(required=True)
    hash = fields.String(
        required=True, metadata={"description": "SHA-256 of the file, or of the request's shifts"}
    )
    shifts = fields.Integer(required=True)
    added = fields.Integer(required=True)
    removed = fields.Integer(required=True)
    changed = fields.Integer(required=True)
    restored_from = fields.Integer(allow_none=True)
    departments = fields.List(fields.Nested(VersionDepartmentSchema), required=True)


class PublishSchema(Schema):
    published = fields.Boolean(
        required=True, metadata={"description": "false for a dry run, and when nothing would change"}
    )
    version = fields.Nested(VersionSchema, allow_none=True, required=True)
    review = fields.Nested(ReviewSchema, required=True)


class ProblemWithReviewSchema(ProblemSchema):
    """RFC 9457 problem details, with the review that explains the refusal."""

    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "by field path, e.g. shifts[3].end"},
    )
    review = fields.Nested(ReviewSchema)


class CoverSchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    start = fields.String(required=True)
    end = fields.String(required=True)
    name = fields.String(required=True)
    phone = fields.String(required=True)
    override = fields.Integer(allow_none=True, metadata={"description": "the override's id, when it is one"})


class PublishedShiftSchema(ShiftSchema):
    version = fields.Integer(allow_none=True, metadata={"description": "the publish that put it in place"})
    covered_by = fields.List(
        fields.Nested(CoverSchema),
        required=True,
        metadata={"description": "stretches of this shift someone else covers by override"},
    )


class ShiftsSchema(Schema):
    department = fields.String(required=True)
    start = fields.String(required=True, data_key="from")
    end = fields.String(required=True, data_key="to")
    shifts = fields.List(
        fields.Nested(PublishedShiftSchema), required=True, metadata={"description": "the rota as published"}
    )
    covers = fields.List(
        fields.Nested(CoverSchema),
        required=True,
        metadata={"description": "who really covers what: the rota with the overrides laid over it"},
    )


class OverrideInSchema(Schema):
    start = fields.String(required=True, metadata={"description": ISO})
    end = fields.String(required=True, metadata={"description": f"{ISO}; at most 14 days after the start"})
    name = fields.String(required=True, metadata={"description": "who covers"})
    phone = fields.String(required=True, metadata={"description": "their number"})
    replaces_phone = fields.String(
        allow_none=True,
        metadata={"description": "the number of the rota person stood in for; none adds cover"},
    )
    role = fields.String(
        load_default="",
        metadata={"description": "day, oncall, backup or nurse: needed when nobody is replaced"},
    )
    reason = fields.String(load_default="", validate=validate.Length(max=200))


class OverrideSchema(Schema):
    id = fields.Integer(required=True)
    department = fields.String(required=True)
    role = fields.String(required=True)
    start = fields.String(required=True)
    end = fields.String(required=True)
    name = fields.String(required=True)
    phone = fields.String(required=True)
    replaces_name = fields.String(required=True)
    replaces_phone = fields.String(allow_none=True)
    reason = fields.String(required=True)
    created_at = fields.String(required=True)
    created_by = fields.String(required=True)


class VersionsQuery(Schema):
    department = fields.String(metadata={"description": "only the versions touching this department"})
