"""Every operation of the OpenAPI document, fuzzed by schemathesis: no 5xx, the answers as documented.

The schema is read from the app itself (WSGI, no network), on the demo region with one
token of every scope. schemathesis's default checks run on each answer: not a server
error, the status code documented, the content type documented, the body valid against
the documented schema, and the documented headers. Each operation is a test of its own
on a fresh database, so the writing ones (rota, overrides, discharges) are included.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance
from sqlalchemy.orm import Session

from app.demo import seed_demo
from app.services.tokens import SCOPES, add_token
from tests.support import Clock

# Enough to cover each operation's parameters without taking the suite's minute.
EXAMPLES = 50
# The docs page is HTML for people: documented as such, not fuzzed for a JSON body.
NOT_FUZZED = "/docs"


@pytest.fixture
def token(app: Flask, session: Session, clock: Clock) -> str:
    """The demo region, and a token with every scope so that no operation stops at 403."""
    seed_demo(session, app.extensions["linje72.vault"], app.config["POLICY"], clock())
    _, secret = add_token(session, "fuzzer", SCOPES, clock())
    session.commit()
    return secret


# Two checks ask more than a JSON schema says. A schema-valid request may still be refused
# with its documented 4xx: an unknown department, a CPR number that is no date, a rota that
# leaves gaps are rules of the domain, not of the schema. And the API ignores query
# parameters it does not know (a client's cache-buster must not break it), which the check
# for rejected invalid data counts against it; invalid values of known ones are refused (422).
UNCHECKED = [positive_data_acceptance, negative_data_rejection]
# Each operation of the document (`test_the_fuzzed_operations_are_the_documents` keeps the list whole).
OPERATIONS = (
    ("GET", "/api/v1/departments"),
    ("GET", "/api/v1/departments/{code}/oncall"),
    ("GET", "/api/v1/departments/{code}/patients"),
    ("GET", "/api/v1/departments/{code}/shifts"),
    ("PUT", "/api/v1/departments/{code}/rota"),
    ("POST", "/api/v1/departments/{code}/overrides"),
    ("GET", "/api/v1/rota/versions"),
    ("GET", "/api/v1/contacts"),
    ("GET", "/api/v1/followups"),
    ("POST", "/api/v1/discharges"),
    ("POST", "/api/v1/discharges/{external_id}/mark"),
    ("POST", "/api/v1/discharges/{external_id}/extend"),
    ("POST", "/api/v1/discharges/{external_id}/end"),
    ("POST", "/api/v1/fhir/Bundle"),
    ("POST", "/api/v1/fhir/$process-message"),
)


def test_the_fuzzed_operations_are_the_documents(app: Flask) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    documented = {(result.ok().method.upper(), result.ok().path) for result in schema.get_all_operations()}
    assert documented - {("GET", f"/api/v1{NOT_FUZZED}")} == set(OPERATIONS)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation_answers_as_documented_and_never_with_a_server_error(
    app: Flask, token: str, method: str, path: str
) -> None:
    operation = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)[path][method]
    # Valid requests and invalid ones (wrong types, missing fields): each answered as documented.
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
    )

    @given(case=cases)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def fuzz(case: Any) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, excluded_checks=UNCHECKED)

    fuzz()


# What the fuzzing found, kept as examples.


def test_the_document_gives_errors_as_problem_details_and_fhir_errors_as_operation_outcomes(
    app: Flask,
) -> None:
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    default = document["components"]["responses"]["DEFAULT_ERROR"]["content"]
    assert list(default) == ["application/problem+json"]
    refused = document["paths"]["/api/v1/discharges"]["post"]["responses"]["422"]["content"]
    assert list(refused) == ["application/problem+json"]
    fhir = document["paths"]["/api/v1/fhir/Bundle"]["post"]["responses"]["default"]["content"]
    assert list(fhir) == ["application/fhir+json"]


@pytest.mark.parametrize(
    ("path", "body", "errors", "detail"),
    (
        ("/api/v1/discharges/SP-1/end", b"\x00", None, "Invalid JSON body."),
        (
            "/api/v1/departments/RH-KARD/rota",
            b'{"start": "2026-11-23", "end": "2026-11-24", "shifts": [{"role": "day"}, {"start": 7}]}',
            {"shifts[0].start", "shifts[1].start"},
            None,
        ),
    ),
    ids=["not JSON", "nested fields"],
)
def test_a_refused_body_names_its_problems_by_field_path_or_in_the_detail(
    app: Flask, token: str, path: str, body: bytes, errors: set[str] | None, detail: str | None
) -> None:
    method = app.test_client().put if path.endswith("/rota") else app.test_client().post
    response = method(
        path, data=body, content_type="application/json", headers={"Authorization": f"Bearer {token}"}
    )
    problem = response.get_json()
    assert response.mimetype == "application/problem+json"
    if errors is None:
        assert "errors" not in problem and detail in problem["detail"]
    else:
        assert errors <= set(problem["errors"])
        assert all(isinstance(messages, list) for messages in problem["errors"].values())


@pytest.mark.parametrize(
    ("path", "parameter"),
    (
        ("/api/v1/followups?department=RH%00KARD", "department"),
        ("/api/v1/contacts?agreement=S%00J", "agreement"),
    ),
)
def test_a_control_character_in_a_query_is_refused_naming_the_parameter(
    app: Flask, token: str, path: str, parameter: str
) -> None:
    """Found by schemathesis on PostgreSQL, which refuses NUL in text: a 500 before, now a 422."""
    response = app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert parameter in response.get_data(as_text=True)
