"""The web console: server-rendered pages for planners, departments, the region and admins."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(
    "web", __name__, template_folder="templates", static_folder="static", static_url_path="/assets"
)

from app.web import (  # noqa: E402, F401  (the views register themselves on bp)
    admin,
    agreements,
    alerts,
    auth,
    calendar,
    coverage,
    dashboard,
    feeds,
    followup,
    overrides,
    pages,
    patients,
    rota,
    sso,
    voice,
)
