"""Linje 72: the unified number for the 72-hour treatment responsibility after discharge."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Flask

from app import config as config_module
from app import db, logs
from app.cpr import CprVault
from app.policy import policy_from


def system_clock() -> datetime:
    return datetime.now(UTC)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the WSGI application; refuse to start when a required setting is missing."""
    app = Flask(__name__, instance_relative_config=True)
    settings = config_module.load(os.environ, test_config)
    config_module.check(settings)
    app.config.update(settings)
    app.config["POLICY"] = policy_from(settings)
    app.config.setdefault("CLOCK", system_clock)
    os.makedirs(app.instance_path, exist_ok=True)
    url = settings["DATABASE_URL"] or "sqlite:///" + os.path.join(app.instance_path, "linje72.db")
    app.config["DATABASE_URL"] = url
    db.init_app(app, url)
    app.extensions["linje72.vault"] = CprVault(settings["LINJE72_SECRET_KEY"])
    logs.configure(settings["LINJE72_LOG_LEVEL"])

    from ivr import bp as ivr_bp

    app.register_blueprint(ivr_bp)

    from app.cli import register_commands

    register_commands(app)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
