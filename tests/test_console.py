"""The console: who may see what, logins, CSRF, lockout, the audit log, the pages' content."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.data.models import AuditEvent
from ivr.simulator import ScriptedPhone, play_call
from tests import factories as f
from tests.console import csrf_token, log_in
from tests.support import Clock

ANNA, BO, DORTE = "+4540101001", "+4540101002", "+4540102002"
ROLES = {
    "admin": ("admin@x.dk", ()),
    "planner": ("planner@x.dk", ("RH-KARD",)),
    "department": ("afdeling@x.dk", ("RH-KARD",)),
    "region": ("region@x.dk", ()),
    "disabled": ("gone@x.dk", ()),
}


@pytest.fixture
def console(app: Flask, session: Session) -> None:
    """Two departments, a day and a night rota for one, a patient, a call, and one account per role."""
    cardiology = f.department(session)
    geriatrics = f.department(
        session,
        "BFH-GER",
        name="Geriatrisk Afdeling",
        hospital="Bispebjerg",
        oncall_phone=None,
        day_phone="+4531203001",
        switchboard_phone="+4531200000",
    )
    f.shift(session, cardiology, "day", "2026-11-23 08:00", "2026-11-23 15:00", ANNA, "Anna Holm")
    f.shift(session, cardiology, "oncall", "2026-11-23 15:00", "2026-11-24 08:00", BO, "Bo Jensen")
    f.shift(session, geriatrics, "day", "2026-11-23 08:00", "2026-11-23 15:30", DORTE, "Dorte Berg")
    f.caller(session)
    f.discharge(app, session, cardiology, "2026-11-21T10:30:00+01:00")
    for role, (email, departments) in ROLES.items():
        f.user(session, email, "admin" if role == "disabled" else role, departments)
    from app.services.accounts import disable_user

    disable_user(session, "gone@x.dk")
    session.commit()
    play_call(app, "+4532501010", ScriptedPhone(["0101401234", "1"], {ANNA: "1"}))


def client_as(app: Flask, role: str | None) -> FlaskClient:
    client = app.test_client()
    if role is not None:
        log_in(client, ROLES[role][0])
    return client


PAGES = (
    "/",
    "/contacts",
    "/audit",
    "/audit.csv",
    "/coverage",
    "/coverage/RH-KARD",
    "/rota/upload",
    "/rota/versions",
    "/overrides",
    "/overrides/new",
    "/patients",
    "/agreements",
    "/agreements/new",
    "/followup",
    "/dashboard",
    "/dashboard/export.csv?table=departments",
    "/dashboard/export.xlsx?table=days",
)
# The region's dashboard: counts only, for the region and admins; departments have their contact log.
DASHBOARD = dict.fromkeys(
    ("/dashboard", "/dashboard/export.csv?table=departments", "/dashboard/export.xlsx?table=days"), 200
)
NO_DASHBOARD = dict.fromkeys(DASHBOARD, 403)
AGREEMENTS = {"/agreements": 403, "/agreements/new": 403}  # the admin's alone
COVERAGE = {"/coverage": 200, "/coverage/RH-KARD": 200}
ROTA = {"/rota/upload": 200, "/rota/versions": 200, "/overrides": 200, "/overrides/new": 200}
NO_ROTA = dict.fromkeys(ROTA, 403)
ALLOWED = {
    None: {},
    "admin": {
        "/": 200,
        "/contacts": 200,
        "/audit": 200,
        "/audit.csv": 200,
        **COVERAGE,
        **ROTA,
        "/patients": 200,
        "/agreements": 200,
        "/agreements/new": 200,
        "/followup": 200,
        **DASHBOARD,
    },
    "planner": {
        "/": 200,
        "/contacts": 403,
        "/audit": 403,
        "/audit.csv": 403,
        **COVERAGE,
        **ROTA,
        "/patients": 403,
        **AGREEMENTS,
        "/followup": 403,
        **NO_DASHBOARD,
    },
    "department": {
        "/": 200,
        "/contacts": 200,
        "/audit": 403,
        "/audit.csv": 403,
        **COVERAGE,
        **NO_ROTA,
        "/patients": 200,
        **AGREEMENTS,
        "/followup": 200,
        **NO_DASHBOARD,
    },
    "region": {
        "/": 200,
        "/contacts": 200,
        "/audit": 403,
        "/audit.csv": 403,
        **COVERAGE,
        **NO_ROTA,
        "/patients": 200,
        **AGREEMENTS,
        "/followup": 403,
        **DASHBOARD,
    },
    "disabled": {},
}


@pytest.mark.usefixtures("console")
@pytest.mark.parametrize("role", list(ALLOWED), ids=lambda role: str(role or "anonymous"))
@pytest.mark.parametrize("page", PAGES)
def test_every_page_gives_each_role_exactly_what_it_allows(app: Flask, role: str | None, page: str) -> None:
    response = client_as(app, role).get(page)
    expected = ALLOWED[role].get(page, 302)
    assert response.status_code == expected
    if expected == 302:
        assert response.headers["Location"].startswith("/login")


@pytest.mark.usefixtures("console")
@pytest.mark.parametrize("role", ["planner", "department"])
def test_a_departments_account_never_sees_another_departments_data(app: Flask, role: str) -> None:
    client = client_as(app, role)
    front = client.get("/").get_data(as_text=True)
    assert "RH-KARD" in front and ANNA in front
    assert "BFH-GER" not in front and DORTE not in front
    if role == "department":
        assert client.get("/contacts?department=BFH-GER").status_code == 404
        assert client.get("/contacts?department=RH-KARD").status_code == 200


@pytest.mark.usefixtures("console")
def test_who_answers_now_shows_the_chain_exactly_as_a_call_rings_it_and_marks_gaps(
    app: Flask, clock: Clock
) -> None:
    client = client_as(app, "region")
    page = client.get("/?at=2026-11-23T22:00").get_data(as_text=True)
    cardiology = page[page.index('aria-label="RH-KARD"') :]
    cardiology = cardiology[: cardiology.index("</section>")]
    numbers = [cardiology.index(n) for n in (BO, "+4531102009", "+4531100000", "+4538640000")]
    assert numbers == sorted(numbers)  # on call, the on-call phone, the switchboard, the fallback
    geriatrics = page[page.index('aria-label="BFH-GER"') :]
    geriatrics = geriatrics[: geriatrics.index("</section>")]
    assert "Hul: ingen vagthavende" in geriatrics  # no on-call shift and no on-call phone at night
    assert "card gap" in page[page.index('aria-label="BFH-GER"') - 40 : page.index('aria-label="BFH-GER"')]


def test_a_form_without_its_csrf_token_is_refused(app: Flask, session: Session) -> None:
    f.user(session, "admin@x.dk", "admin")
    session.commit()
    client = app.test_client()
    response = client.post("/login", data={"email": "admin@x.dk", "password": f.PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_the_fifth_failure_locks_the_account_and_every_attempt_is_audited(
    app: Flask, session: Session, clock: Clock
) -> None:
    f.user(session, "admin@x.dk", "admin")
    session.commit()
    client = app.test_client()
    for _ in range(5):
        assert log_in(client, "admin@x.dk", "wrong password!!").status_code == 401
    locked = log_in(client, "admin@x.dk")  # the right password, too late
    assert locked.status_code == 401
    assert "spærret" in locked.get_data(as_text=True)
    clock.set("2026-11-23T10:16:00+01:00")
    assert log_in(client, "admin@x.dk").status_code == 302
    session.rollback()
    actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["login_failed"] * 6 + ["login"]


@pytest.mark.usefixtures("console")
def test_views_of_personal_data_and_exports_are_audited_with_who_and_from_where(
    app: Flask, session: Session
) -> None:
    client = client_as(app, "admin")
    client.get("/contacts?outcome=connected")
    client.get("/audit.csv")
    session.rollback()
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.actor == "admin@x.dk").order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.target) for e in events] == [
        ("login", ""),
        ("view", "contact log"),
        ("export", "audit log"),
    ]
    assert "outcome=connected" in events[1].detail
    assert events[1].address == "127.0.0.1"


@pytest.mark.usefixtures("console")
def test_a_new_password_or_a_disabled_account_ends_the_open_session(
    app: Flask, session: Session, runner: object
) -> None:
    client = client_as(app, "region")
    assert client.get("/").status_code == 200
    from app.services.accounts import reset_password

    reset_password(session, "region@x.dk", "another long password")
    session.commit()
    assert client.get("/").status_code == 302


@pytest.mark.usefixtures("console")
def test_the_language_is_danish_by_default_and_english_on_request(app: Flask) -> None:
    client = client_as(app, "admin")
    assert "Hvem svarer nu" in client.get("/").get_data(as_text=True)
    token = csrf_token(client, "/")
    client.post("/language", data={"language": "en", "csrf_token": token})
    page = client.get("/").get_data(as_text=True)
    assert "Who answers now" in page and "department's day phone" in page
    assert "Hvem svarer nu" not in page


@pytest.mark.usefixtures("console")
def test_the_contact_log_filters_and_shows_pseudonyms_and_test_calls(app: Flask, session: Session) -> None:
    play_call(app, "+4532501010", ScriptedPhone(["0101401234", "1"], {ANNA: "1"}), test_call=True)
    client = client_as(app, "department")
    page = client.get("/contacts").get_data(as_text=True)
    assert page.count("P-") == 2 and "0101401234" not in page
    assert "testopkald" in page
    assert "2 opkald" in page
    none = client.get("/contacts?outcome=unanswered").get_data(as_text=True)
    assert "Ingen opkald passer." in none


def test_the_session_cookie_is_http_only_same_site_and_ends_when_idle(app: Flask, session: Session) -> None:
    f.user(session, "admin@x.dk", "admin")
    session.commit()
    client = app.test_client()
    response = log_in(client, "admin@x.dk")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert app.config["PERMANENT_SESSION_LIFETIME"].total_seconds() == 30 * 60
    assert "Expires=" in cookie  # a permanent session, renewed on each request: the idle timeout


def test_user_commands_add_list_disable_and_reset_accounts(app: Flask, session: Session) -> None:
    f.department(session)
    session.commit()
    runner = app.test_cli_runner()
    added = runner.invoke(
        args=["user", "add", "Planner@X.dk", "--role", "planner", "--department", "RH-KARD"],
        input="a long enough password\n",
    )
    assert added.exit_code == 0, added.output
    assert added.output.strip() == "Added planner@x.dk (planner)."
    generated = runner.invoke(args=["user", "add", "region@x.dk", "--role", "region", "--generate"])
    assert generated.exit_code == 0
    password = generated.output.split("Password (shown once): ")[1].strip()
    assert log_in(app.test_client(), "region@x.dk", password).status_code == 302

    listing = runner.invoke(args=["user", "list"]).output.splitlines()
    assert [line.split()[:4] for line in listing] == [
        ["planner@x.dk", "planner", "RH-KARD", "active"],
        ["region@x.dk", "region", "-", "active"],
    ]
    assert runner.invoke(args=["user", "disable", "region@x.dk"]).exit_code == 0
    assert log_in(app.test_client(), "region@x.dk", password).status_code == 401
    reset = runner.invoke(args=["user", "reset-password", "planner@x.dk"], input="another long password\n")
    assert reset.exit_code == 0
    assert log_in(app.test_client(), "planner@x.dk", "another long password").status_code == 302
    session.rollback()
    changes = [e.detail for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "change"))]
    assert changes == [
        "added; role=planner departments=RH-KARD",
        "added; role=region departments=-",
        "disabled",
        "password reset",
    ]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    (
        (
            ["user", "add", "x@x.dk", "--role", "planner"],
            "a long enough password\n",
            "needs at least one department",
        ),
        (
            ["user", "add", "x@x.dk", "--role", "boss"],
            "a long enough password\n",
            "Invalid value for '--role'",
        ),
        (
            ["user", "add", "not-an-email", "--role", "admin"],
            "a long enough password\n",
            "not an email address",
        ),
        (["user", "add", "x@x.dk", "--role", "admin"], "short\n", "at least 12 characters"),
        (
            ["user", "add", "x@x.dk", "--role", "department", "--department", "NOPE"],
            "a long enough password\n",
            "no department with code 'NOPE'",
        ),
        (["user", "disable", "nobody@x.dk"], "", "no account for nobody@x.dk"),
    ),
)
def test_a_bad_user_command_names_what_is_wrong_and_changes_nothing(
    app: Flask, session: Session, args: list[str], stdin: str, message: str
) -> None:
    result = app.test_cli_runner().invoke(args=args, input=stdin)
    assert result.exit_code != 0
    assert message in result.output
    session.rollback()
    assert session.scalars(select(AuditEvent)).all() == []


def test_the_console_serves_its_own_stylesheet(app: Flask) -> None:
    page = app.test_client().get("/login").get_data(as_text=True)
    assert 'href="/assets/console.css"' in page
    with app.test_client().get("/assets/console.css") as css:
        assert css.status_code == 200 and "--brand" in css.get_data(as_text=True)
    assert "https://" not in page  # nothing from a CDN: hospital networks are often closed


@pytest.fixture
def other_department(app: Flask, session: Session, console: None) -> dict[str, str]:
    """BFH-GER's draft, published version and override, made by the admin: not the RH-KARD planner's."""
    from app.services.overrides import OverrideRequest, add_override
    from app.services.rota import Author, publish_draft, upload_rota
    from app.values.times import parse_time

    policy, now, admin = app.config["POLICY"], app.config["CLOCK"](), Author("admin@x.dk", "web")
    rota = (
        b"department,role,start,end,name,phone\n"
        b"BFH-GER,oncall,2026-11-24 15:30,2026-11-25 08:00,Dorte,40102002\n"
    )
    published = upload_rota(session, policy, rota, "ger.csv", now, admin)
    waiting = upload_rota(session, policy, rota, "ger.csv", now, admin)
    assert published.draft is not None and waiting.draft is not None
    version = publish_draft(session, policy, published.draft.id, now, admin, acknowledged=True)
    override = add_override(
        session,
        OverrideRequest(
            "BFH-GER",
            parse_time("2026-11-25 15:30"),
            parse_time("2026-11-26 08:00"),
            "Emil",
            "+4540102005",
            role="oncall",
        ),
        now,
        actor="admin@x.dk",
    )
    session.commit()
    return {"draft": str(waiting.draft.id), "version": str(version.id), "override": str(override.id)}


@pytest.mark.parametrize(
    ("method", "path"),
    (
        ("get", "/coverage/BFH-GER"),
        ("get", "/rota/drafts/{draft}"),
        ("post", "/rota/drafts/{draft}/publish"),
        ("post", "/rota/drafts/{draft}/discard"),
        ("get", "/rota/versions/{version}"),
        ("post", "/rota/versions/{version}/restore"),
        ("get", "/overrides/{override}/edit"),
        ("post", "/overrides/{override}/edit"),
        ("post", "/overrides/{override}/withdraw"),
    ),
)
def test_a_planner_finds_nothing_of_another_departments_rota(
    app: Flask, session: Session, other_department: dict[str, str], method: str, path: str
) -> None:
    from app.data.models import RotaOverride, RotaVersion

    client = client_as(app, "planner")
    token = csrf_token(client, "/")
    response = getattr(client, method)(
        path.format(**other_department), data={"csrf_token": token, "acknowledged": "y"}
    )
    assert response.status_code == 404
    session.rollback()
    assert len(session.scalars(select(RotaVersion)).all()) == 1
    assert session.scalars(select(RotaOverride)).one().ended_at is None
    listed = client.get("/rota/versions").get_data(as_text=True) + client.get("/overrides").get_data(
        as_text=True
    )
    assert "BFH-GER" not in listed and "Emil" not in listed


@pytest.mark.usefixtures("console")
def test_a_departments_account_sees_its_own_timeline_only(app: Flask) -> None:
    client = client_as(app, "department")
    assert client.get("/coverage/RH-KARD").status_code == 200
    assert client.get("/coverage/BFH-GER").status_code == 404
    assert "BFH-GER" not in client.get("/coverage").get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    (
        "/rota/upload",
        "/rota/drafts/{draft}/publish",
        "/rota/drafts/{draft}/discard",
        "/rota/versions/{version}/restore",
        "/overrides/new",
        "/overrides/{override}/edit",
        "/overrides/{override}/withdraw",
    ),
)
def test_a_planning_form_without_its_csrf_token_is_refused_and_changes_nothing(
    app: Flask, session: Session, other_department: dict[str, str], path: str
) -> None:
    from app.data.models import RotaDraft, RotaOverride, RotaVersion

    client = client_as(app, "admin")
    response = client.post(
        path.format(**other_department),
        data={"acknowledged": "y", "department": "BFH-GER", "name": "X", "phone": "+4540102009"},
    )
    assert response.status_code == 400
    session.rollback()
    assert len(session.scalars(select(RotaVersion)).all()) == 1
    assert [d.status for d in session.scalars(select(RotaDraft).order_by(RotaDraft.id))] == [
        "published",
        "draft",
    ]
    assert [o.ended_at for o in session.scalars(select(RotaOverride))] == [None]
