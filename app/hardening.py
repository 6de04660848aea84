"""What every response carries (security headers, a request id) and the rate limits on logins and the API.

Webhooks are never rate-limited: a caller must not be refused by a counter, and the provider's
signature already guards them.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any, cast

from flask import Blueprint, Flask, Response, g, request
from flask_limiter import Limiter, RequestLimit
from werkzeug.middleware.proxy_fix import ProxyFix

from app import logs, metrics
from app.config import Operations

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
HSTS = "max-age=31536000; includeSubDomains"
# A request id the load balancer sent is kept when it looks like one; anything else is replaced.
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def init_hardening(app: Flask, operations: Operations) -> Limiter:
    """Trust the proxies in front, stamp every response, and limit logins and the API."""
    if operations.trusted_proxies:
        n = operations.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    https = str(app.config["LINJE72_PUBLIC_URL"]).startswith("https://")

    @app.before_request
    def name_the_request() -> None:
        offered = request.headers.get("X-Request-Id", "")
        g.request_id = offered if REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
        logs.request_id.set(g.request_id)

    @app.after_request
    def stamp(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if https or request.is_secure:
            headers.setdefault("Strict-Transport-Security", HSTS)
        # Pages, API answers and TwiML name patients and people on call: no copy kept on the way,
        # unless the view chose its own (a calendar feed: private, for a few minutes).
        if not (request.endpoint or "").endswith("static") and "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store"
        if "request_id" in g:
            headers["X-Request-Id"] = g.request_id
        return response

    @app.teardown_request
    def forget_the_request(_error: BaseException | None) -> None:
        logs.request_id.set(None)
        logs.call_sid.set(None)

    return _limit(app, operations)


def _limit(app: Flask, operations: Operations) -> Limiter:
    """Limit login attempts per client address and API requests per token (429 with Retry-After).

    The account itself is locked after failed logins (LINJE72_LOGIN_FAILURES); this limit stops
    one address from trying many accounts.
    """
    limiter = Limiter(
        key_func=client_address,
        app=app,
        storage_uri=operations.redis_url or "memory://",
        key_prefix="linje72",
        headers_enabled=True,
        # Redis away: each process counts on its own rather than refusing or letting all through.
        in_memory_fallback_enabled=operations.redis_url is not None,
        swallow_errors=True,
        on_breach=_count_breach,
    )
    login: Any = app.view_functions["web.login"]
    app.view_functions["web.login"] = limiter.limit(
        operations.login_rate_limit, key_func=client_address, methods=["POST"], scope="login"
    )(login)
    api = cast(Blueprint, app.blueprints["api"])
    limiter.limit(operations.api_rate_limit, key_func=api_caller, scope="api")(api)
    _skip_unlimited_blueprints(app, limiter)
    app.extensions["linje72.limiter"] = limiter
    return limiter


# The blueprints the limiter never counts: the provider's webhooks and the load balancer's probes.
UNLIMITED_BLUEPRINTS = frozenset({"ivr", "delivery", "ops"})


def _skip_unlimited_blueprints(app: Flask, limiter: Limiter) -> None:
    """Run the limiter's check only where a limit can apply: a webhook does not pay for it.

    The limiter checks every request in a hook of its own; for the webhooks (a surge's every
    request) that is work spent to find no limit. Its hook is wrapped to pass those by.
    """
    hooks = app.before_request_funcs.setdefault(None, [])
    for index, hook in enumerate(hooks):
        if getattr(hook, "__self__", None) is limiter:

            def check(limiter_check: Any = hook) -> Any:
                if request.blueprint in UNLIMITED_BLUEPRINTS:
                    return None
                return limiter_check()

            hooks[index] = check
            return
    raise RuntimeError("the rate limiter's request hook was not found")


def client_address() -> str:
    """The client's address (the proxies' X-Forwarded-For when LINJE72_TRUSTED_PROXIES says so)."""
    return request.remote_addr or "unknown"


def api_caller() -> str:
    """One bucket per bearer token (kept as a hash, never the token), else per address."""
    kind, _, token = request.headers.get("Authorization", "").partition(" ")
    if kind.lower() == "bearer" and token.strip():
        return "token:" + hashlib.sha256(token.strip().encode()).hexdigest()[:32]
    return "address:" + client_address()


def _count_breach(limit: RequestLimit) -> None:
    scope = "api" if request.blueprint == "api" else "login"
    metrics.SECURITY_EVENTS.labels(f"rate_limited_{scope}").inc()
