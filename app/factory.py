"""Build the Flask application: settings, database, CPR vault, logging and every surface."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from app import config, logs, metrics
from app.data import db
from app.data.spool import spool_depth
from app.messaging import Messenger, Recordings, default_http_client
from app.services.alerts import Alerting
from app.services.keys import missing_keys
from app.services.spool import mark_waiting
from app.values.cpr import CprVault


def system_clock() -> datetime:
    return datetime.now(UTC)


def _alerting(app: Flask, settings: Mapping[str, Any]) -> Alerting:
    """How gap warnings go out; tests hand in the provider's HTTP client (PROVIDER_HTTP_CLIENT)."""
    alerts = config.alerts_from(settings)
    sending = alerts.sending
    if sending is None:
        return Alerting(alerts, app.config["POLICY"].voices["da"])
    http_client = settings.get("PROVIDER_HTTP_CLIENT") or default_http_client

    def messenger() -> Messenger:
        return Messenger(
            sending.account_sid, sending.auth_token, http_client(), region=sending.region, edge=sending.edge
        )

    return Alerting(alerts, app.config["POLICY"].voices["da"], messenger)


def _check_stored_keys(app: Flask, vault: CprVault) -> None:
    """Refuse to start when stored CPR numbers need a key that is not configured (a previous key
    removed before its rotation ended): calls would not find those patients.

    On the call path's engine, so a slow database delays the start by seconds at most; a database
    that cannot be asked (not there yet, not migrated) is left to the first request to find.
    """
    engine = app.extensions["linje72.call_engine"]
    try:
        if not inspect(engine).has_table("discharges"):
            return
        with app.extensions["linje72.call_sessions"]() as session:
            problem = missing_keys(session, vault)
    except SQLAlchemyError as exc:
        logging.getLogger("linje72").warning(
            "could not check the stored CPR numbers' keys: %s", type(exc).__name__
        )
        return
    if problem:
        db.dispose(app)
        raise config.ConfigError(problem)


def _check_spool(app: Flask) -> None:
    """Calls spooled in an outage before a restart: the first webhook the database answers drains them."""
    try:
        waiting = spool_depth(app.instance_path)
    except Exception as exc:  # a spool that cannot be read must not keep the line from starting
        logging.getLogger("linje72").error("could not read the outage spool: %s", type(exc).__name__)
        return
    if waiting:
        logging.getLogger("linje72").warning(
            "%d records of calls from a database outage wait in the spool", waiting
        )
        mark_waiting()


def build_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the app from defaults, the settings file, the environment and `test_config`."""
    test_config = dict(test_config or {})
    instance_path = test_config.pop("INSTANCE_PATH", None) or config.instance_path_from(os.environ)
    app = Flask("app", instance_path=instance_path, instance_relative_config=True)
    settings = config.load(os.environ, test_config, instance_path=app.instance_path)
    config.check(settings)
    app.config.update(settings)
    app.config["POLICY"] = config.policy_from(settings)
    app.config["FEED_MAPPINGS"] = config.feed_mappings_from(settings)
    app.config.setdefault("CLOCK", system_clock)
    os.makedirs(app.instance_path, exist_ok=True)
    url = settings["DATABASE_URL"] or "sqlite:///" + os.path.join(app.instance_path, "linje72.db")
    app.config["DATABASE_URL"] = url
    db.init_app(app, url, call_timeout=config.database_timeout(settings))
    keys = config.keys_from(settings)
    vault = CprVault(keys.secret, keys.previous, keys.pseudonym_key)
    app.extensions["linje72.vault"] = vault
    app.config["RETENTION"] = config.retention_from(settings)
    app.config["FOLLOW_UPS"] = config.follow_ups_from(settings)
    operations = config.operations_from(settings)
    app.config["OPERATIONS"] = operations
    logs.configure(settings["LINJE72_LOG_LEVEL"], operations.log_format)
    app.extensions["linje72.alerting"] = _alerting(app, settings)
    api = config.provider_api_from(settings)
    # Tests hand in the provider's HTTP client (PROVIDER_HTTP_CLIENT), as for the warnings.
    recordings_http = settings.get("PROVIDER_HTTP_CLIENT") or default_http_client
    app.extensions["linje72.recordings"] = Recordings(
        api.auth_token, recordings_http, region=api.region, edge=api.edge
    )

    from app.api import bp as api_bp
    from app.api.setup import init_api
    from app.hardening import init_hardening
    from app.ops import CoverageGaps
    from app.ops import bp as ops_bp
    from app.web import bp as web_bp
    from app.web.setup import csrf, init_console
    from ivr import bp as ivr_bp
    from ivr.delivery import bp as delivery_bp

    init_console(app)
    app.register_blueprint(web_bp)
    # The provider's webhooks carry a signature, the API a bearer token: no browser CSRF token.
    csrf.exempt(ivr_bp)
    csrf.exempt(api_bp)
    csrf.exempt(delivery_bp)
    app.register_blueprint(ivr_bp)
    app.register_blueprint(delivery_bp)
    init_api(app)
    app.register_blueprint(ops_bp)
    app.extensions["linje72.coverage_gaps"] = CoverageGaps(app)
    instance = app.instance_path
    metrics.set_spool_depth_source(lambda: spool_depth(instance))  # /metrics' linje72_spool_depth
    init_hardening(app, operations)

    from app.cli import register_commands

    register_commands(app)

    _check_stored_keys(app, vault)  # last: every setting is checked before the database is asked
    _check_spool(app)
    return app
