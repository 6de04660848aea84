"""Wire the API into the app: the OpenAPI document, the bearer scheme, problem details for errors."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from app.api import bp
from app.api.errors import PROBLEM, http_problem
from app.api.schemas import ProblemSchema


class ProblemApi(Api):
    """flask-smorest's Api, documenting the errors as they are sent: problem details (RFC 9457).

    Its stock error responses (`default`, one per status) say `application/json` and its own
    error shape; every error under /api/v1 is `application/problem+json` (errors.py).
    """

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        # The stock method names the content type from this attribute: problem+json for errors.
        self.DEFAULT_RESPONSE_CONTENT_TYPE = PROBLEM
        try:
            super()._register_responses()
        finally:
            del self.DEFAULT_RESPONSE_CONTENT_TYPE


def init_api(app: Flask) -> Api:
    """Register the API blueprint and its OpenAPI 3.1 document at /api/v1/openapi.json."""
    app.config.update(
        API_TITLE="Linje 72 API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
    api = ProblemApi(app)
    api.spec.components.security_scheme(
        "bearer",
        {"type": "http", "scheme": "bearer", "description": "a calling system's token (linje72 token add)"},
    )
    api.register_blueprint(bp)
    # After flask-smorest's own handler: problem details under /api/, the page's own error elsewhere.
    app.register_error_handler(HTTPException, http_problem)
    return api
