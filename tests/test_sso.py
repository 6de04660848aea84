"""Single sign-on with the region's identity provider (a stand-in on loopback): groups give roles."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import create_app
from app.config import ConfigError
from app.data.db import dispose
from app.data.models import AuditEvent, User
from tests import factories as f
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, StandInProvider
from tests.support import Clock, app_settings

ROLE_MAP = "linje72-admins=admin;kardiologi-planlaegning=planner:RH-KARD;regionens-data=region"


@pytest.fixture
def provider() -> Iterator[StandInProvider]:
    stand_in = StandInProvider()
    yield stand_in
    stand_in.close()


@pytest.fixture
def sso_app(
    app: Flask,
    session: Session,
    provider: StandInProvider,
    database_url: str,
    clock: Clock,
    instance_path: str,
) -> Iterator[Flask]:
    f.department(session)
    session.commit()
    settings = app_settings(
        database_url,
        clock,
        instance_path,
        LINJE72_OIDC_ISSUER=provider.issuer,
        LINJE72_OIDC_CLIENT_ID=CLIENT_ID,
        LINJE72_OIDC_CLIENT_SECRET=CLIENT_SECRET,
        LINJE72_OIDC_ROLE_MAP=ROLE_MAP,
    )
    with_sso = create_app(settings)
    yield with_sso
    dispose(with_sso)


def sign_in(client: FlaskClient, provider: StandInProvider, email: str, groups: list[str]) -> str:
    """Follow the login through the provider as a browser would; return where the app sends us."""
    provider.person = {"email": email, "groups": groups}
    start = client.get("/login/sso")
    assert start.status_code == 302 and start.headers["Location"].startswith(provider.issuer + "/authorize")
    back = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    callback = urlsplit(back.headers["Location"])
    assert callback.path == "/login/sso/callback"
    done = client.get(f"{callback.path}?{callback.query}")
    assert done.status_code == 302
    return done.headers["Location"]


def test_a_group_gives_a_role_and_the_account_is_made_on_the_first_login(
    sso_app: Flask, provider: StandInProvider, session: Session
) -> None:
    client = sso_app.test_client()
    assert "Log ind med regionens login" in client.get("/login").get_data(as_text=True)
    assert sign_in(client, provider, "Karen@Region.dk", ["staff", "kardiologi-planlaegning"]) == "/"
    page = client.get("/").get_data(as_text=True)
    assert "karen@region.dk" in page and "RH-KARD" in page
    assert client.get("/contacts").status_code == 403  # a planner
    session.rollback()
    user = session.scalars(select(User)).one()
    assert (user.role, [d.code for d in user.departments]) == ("planner", ["RH-KARD"])
    login = session.scalars(select(AuditEvent).where(AuditEvent.action == "login")).one()
    assert login.detail == "single sign-on; group kardiologi-planlaegning"

    # The provider's groups change: the next login follows them.
    again = sso_app.test_client()
    sign_in(again, provider, "karen@region.dk", ["regionens-data"])
    assert again.get("/contacts").status_code == 200
    session.rollback()
    assert session.scalars(select(User)).one().role == "region"


def test_no_mapped_group_no_entry_and_the_refusal_is_audited(
    sso_app: Flask, provider: StandInProvider, session: Session
) -> None:
    client = sso_app.test_client()
    assert sign_in(client, provider, "someone@region.dk", ["staff"]) == "/login"
    assert "giver ingen rolle i Linje 72" in client.get("/login").get_data(as_text=True)
    assert client.get("/").status_code == 302
    session.rollback()
    assert session.scalars(select(User)).all() == []
    failed = session.scalars(select(AuditEvent)).one()
    assert (failed.action, failed.actor, failed.detail) == (
        "login_failed",
        "someone@region.dk",
        "no role for someone@region.dk",
    )


def test_a_disabled_account_stays_out_even_through_the_region(
    sso_app: Flask, provider: StandInProvider, session: Session
) -> None:
    f.user(session, "gone@region.dk", "admin")
    from app.services.accounts import disable_user

    disable_user(session, "gone@region.dk")
    session.commit()
    client = sso_app.test_client()
    assert sign_in(client, provider, "gone@region.dk", ["linje72-admins"]) == "/login"
    assert client.get("/").status_code == 302


def test_a_forged_callback_is_refused(sso_app: Flask, session: Session) -> None:
    client = sso_app.test_client()
    response = client.get("/login/sso/callback?code=forged&state=forged")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(
    ("more", "message"),
    (
        ({"LINJE72_OIDC_ROLE_MAP": ""}, "LINJE72_OIDC_ROLE_MAP is not set"),
        ({"LINJE72_OIDC_ROLE_MAP": "x=boss"}, "no role 'boss'"),
        ({"LINJE72_OIDC_ROLE_MAP": "x=planner"}, "a planner group needs its departments"),
        ({"LINJE72_OIDC_CLIENT_SECRET": ""}, "LINJE72_OIDC_CLIENT_SECRET is not set"),
    ),
)
def test_a_bad_sso_setting_stops_the_start_naming_it(
    database_url: str, clock: Clock, instance_path: str, more: dict[str, str], message: str
) -> None:
    settings = app_settings(
        database_url,
        clock,
        instance_path,
        LINJE72_OIDC_ISSUER="https://login.region.dk",
        LINJE72_OIDC_CLIENT_ID=CLIENT_ID,
        LINJE72_OIDC_CLIENT_SECRET=CLIENT_SECRET,
        LINJE72_OIDC_ROLE_MAP=ROLE_MAP,
    )
    with pytest.raises(ConfigError, match=message):
        create_app({**settings, **more})


def test_without_an_issuer_there_is_no_single_sign_on(app: Flask) -> None:
    client = app.test_client()
    assert "regionens login" not in client.get("/login").get_data(as_text=True)
    assert client.get("/login/sso").status_code == 404
