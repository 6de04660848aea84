"""The JSON API at /api/v1 for other systems: tokens per calling system, problem details, OpenAPI."""

from __future__ import annotations

from flask_smorest import Blueprint

bp = Blueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    template_folder="templates",
    description="Departments, who answers now, and the contact log, for the hospitals' systems.",
)

from app.api import discharges, endpoints, fhir, rota  # noqa: E402, F401  (the endpoints register themselves on bp)
