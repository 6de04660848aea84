"""The planner's pages through the real services: upload, preview, publish, restore, overrides, coverage."""

from __future__ import annotations

import html
import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.data.models import AuditEvent, RotaDraft, RotaOverride, RotaVersion, Shift
from app.services.overrides import OverrideRequest, add_override
from app.services.rota import Author, publish_draft, upload_rota
from app.values.times import parse_time
from tests import factories as f
from tests.console import csrf_token, log_in
from tests.support import Clock

BO, DORTE, EMIL, HANNE = "+4540102002", "+4540102005", "+4540102006", "+4540102007"
HEADER = "department,role,start,end,name,phone\n"
# Four nights of BFH-GER, the night of Wednesday 25 November missing, and Emil early on Monday evening.
GOOD = (
    HEADER
    + "BFH-GER,oncall,2026-11-23 15:30,2026-11-24 08:00,Bo Jensen,40102002\n"
    + "BFH-GER,oncall,2026-11-23 15:30,2026-11-23 23:00,Emil Vestergaard,40102006\n"
    + "BFH-GER,oncall,2026-11-24 15:30,2026-11-25 08:00,Dorte Berg,40102005\n"
    + "BFH-GER,oncall,2026-11-26 15:30,2026-11-27 08:00,Bo Jensen,40102002\n"
    + "BFH-GER,oncall,2026-11-27 15:30,2026-11-30 08:00,Dorte Berg,40102005\n"
)
BAD = (
    HEADER
    + "BFH-GER,oncall,2026-11-23 15:30,2026-11-24 08:00,Bo Jensen,40102002\n"
    + "BFH-GER,oncall,2026-11-24 15:30,2026-11-24 08:00,Dorte Berg,40102005\n"
    + "BFH-XXX,oncall,2026-11-26 15:30,2026-11-27 08:00,Bo Jensen,40102002\n"
    + "BFH-GER,oncall,2026-11-27 15:30,2026-11-30 08:00,Dorte Berg,12\n"
)


@pytest.fixture
def region(app: Flask, session: Session, clock: Clock) -> None:
    """BFH-GER (no on-call phone: its nights need a doctor) and RH-KARD; a planner for each, and the rest."""
    clock.set("2026-11-23T08:30:00+01:00")  # Monday morning, when the planner looks
    f.department(session)
    f.department(
        session,
        "BFH-GER",
        name="Geriatrisk Afdeling",
        hospital="Bispebjerg",
        oncall_phone=None,
        day_phone="+4531203001",
        day_hours="08:00-15:30",
    )
    f.user(session, "planner@x.dk", "planner", ("BFH-GER",))
    f.user(session, "kard@x.dk", "planner", ("RH-KARD",))
    f.user(session, "admin@x.dk", "admin")
    f.user(session, "region@x.dk", "region")
    session.commit()


def signed_in(app: Flask, email: str = "planner@x.dk") -> FlaskClient:
    client = app.test_client()
    assert log_in(client, email).status_code == 302
    return client


def upload(client: FlaskClient, text: str, name: str = "nov.csv", **fields: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/rota/upload")
    data = {"csrf_token": token, "file": (io.BytesIO(text.encode()), name), **fields}
    return client.post("/rota/upload", data=data, content_type="multipart/form-data")


def count(session: Session, model: type) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(model)) or 0


def audited(session: Session, action: str = "change") -> list[tuple[str, str]]:
    session.rollback()
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
    return [(e.target, e.detail) for e in events]


def text_of(page: str) -> str:
    """The page's text as a person reads it: tags gone, white space folded."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


@pytest.mark.usefixtures("region")
def test_a_file_with_errors_is_refused_row_by_row_and_nothing_is_stored(app: Flask, session: Session) -> None:
    response = upload(signed_in(app), BAD, "bad.csv")
    assert response.status_code == 422
    page = text_of(response.get_data(as_text=True))
    assert "bad.csv blev ikke modtaget: 3 problemer" in page
    assert "Intet blev gemt." in page
    assert "række 3 end must be after start" in page
    assert "række 4 department no department with code 'BFH-XXX'" in page
    assert "række 5 phone" in page
    assert count(session, RotaDraft) == 0 and count(session, Shift) == 0
    assert audited(session) == []


@pytest.mark.usefixtures("region")
def test_a_planner_may_not_upload_another_departments_rota(app: Flask, session: Session) -> None:
    response = upload(signed_in(app, "kard@x.dk"), GOOD)
    assert response.status_code == 422
    assert "you may not edit the rota of BFH-GER" in response.get_data(as_text=True)
    assert count(session, RotaDraft) == 0


@pytest.mark.usefixtures("region")
def test_an_upload_without_a_file_says_so(app: Flask) -> None:
    client = signed_in(app)
    response = client.post("/rota/upload", data={"csrf_token": csrf_token(client, "/rota/upload")})
    assert response.status_code == 422
    assert "Vælg den vagtplanfil, der skal uploades" in response.get_data(as_text=True)


@pytest.mark.usefixtures("region")
def test_the_preview_shows_the_period_the_changes_the_notes_and_the_gap_in_local_time(
    app: Flask, session: Session
) -> None:
    client = signed_in(app)
    first = upload(client, HEADER + "BFH-GER,oncall,2026-11-24 15:30,2026-11-25 08:00,Hanne Krogh,40102007\n")
    client.post(
        first.headers["Location"] + "/publish", data={"csrf_token": csrf_token(client, "/rota/upload")}
    )
    response = upload(client, GOOD)
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    text = text_of(page.get_data(as_text=True))
    assert "Erstatter vagtplanen fra man. 2026-11-23 15:30 til man. 2026-11-30 08:00 med 5 vagter." in text
    assert "4 tilføjet" in text and "1 ændret" in text and "0 fjernet" in text
    # Hanne's night is Dorte's now: old struck through, new beside it.
    assert re.search(r"ændret vagthavende .*2026-11-24 15:30 .*Hanne Krogh \+4540102007 → vagthavende", text)
    assert "two people in the role oncall at once: both are rung, earliest start first" in text
    assert "a shift of 64.5 hours (more than 24): is that right?" in text  # the weekend, a warning
    gap = page.get_data(as_text=True).split('class="alarm"')[1].split("</section>")[0]
    assert "2026-11-25 15:30" in gap and "2026-11-26 08:00" in gap and "vagttid" in gap
    assert "Jeg har læst advarslerne og hullerne" in text
    assert count(session, Shift) == 1  # only the first publish is live


@pytest.mark.usefixtures("region")
def test_publishing_needs_the_warnings_and_gaps_acknowledged_and_is_audited(
    app: Flask, session: Session
) -> None:
    client = signed_in(app)
    draft = upload(client, GOOD).headers["Location"]
    token = csrf_token(client, draft)
    refused = client.post(draft + "/publish", data={"csrf_token": token})
    assert refused.status_code == 409
    assert "Ikke offentliggjort: sæt først flueben" in refused.get_data(as_text=True)
    assert count(session, Shift) == 0 and count(session, RotaVersion) == 0

    published = client.post(draft + "/publish", data={"csrf_token": token, "acknowledged": "y"})
    assert published.status_code == 302
    session.rollback()
    version = session.scalars(select(RotaVersion)).one()
    assert published.headers["Location"] == f"/rota/versions/{version.id}"
    confirmation = text_of(client.get(published.headers["Location"]).get_data(as_text=True))
    assert f"Offentliggjort: version #{version.id} gælder nu." in confirmation
    assert count(session, Shift) == 5
    assert client.get(draft).status_code == 404  # a published draft is not there to publish again
    changes = audited(session)
    assert changes[0][0] == "rota draft" and changes[0][1].endswith("uploaded from nov.csv (5 shifts)")
    assert changes[1] == (
        "rota",
        f"published version #{version.id} from draft #{draft.rsplit('/', 1)[1]} (nov.csv): "
        "5 added, 0 removed, 0 changed",
    )


@pytest.mark.usefixtures("region")
def test_a_discarded_draft_changes_nothing_and_is_audited(app: Flask, session: Session) -> None:
    client = signed_in(app)
    draft = upload(client, GOOD).headers["Location"]
    response = client.post(draft + "/discard", data={"csrf_token": csrf_token(client, draft)})
    assert response.headers["Location"] == "/rota/upload"
    assert "Kladden er kasseret" in client.get("/rota/upload").get_data(as_text=True)
    assert client.get(draft).status_code == 404
    assert count(session, Shift) == 0
    assert audited(session)[-1] == ("rota draft", f"#{draft.rsplit('/', 1)[1]} discarded")


@pytest.mark.usefixtures("region")
def test_versions_list_every_publish_and_an_earlier_one_is_restored_in_one_step(
    app: Flask, session: Session
) -> None:
    client = signed_in(app)
    token = csrf_token(client, "/rota/upload")
    for text in (GOOD, GOOD.replace("Bo Jensen,40102002", "Hanne Krogh,40102007")):
        draft = upload(client, text).headers["Location"]
        client.post(draft + "/publish", data={"csrf_token": token, "acknowledged": "y"})
    first, second = session.scalars(select(RotaVersion).order_by(RotaVersion.id)).all()
    listing = text_of(client.get("/rota/versions").get_data(as_text=True))
    assert listing.index(f"#{second.id}") < listing.index(f"#{first.id}")  # newest first
    assert "planner@x.dk" in listing and first.file_hash[:12] in listing
    assert "BFH-GER 2026-11-23 15:30 – 2026-11-30 08:00" in listing

    unconfirmed = client.post(f"/rota/versions/{first.id}/restore", data={"csrf_token": token})
    assert "Ikke gendannet: sæt flueben" in client.get(unconfirmed.headers["Location"]).get_data(as_text=True)
    assert count(session, RotaVersion) == 2
    restored = client.post(f"/rota/versions/{first.id}/restore", data={"csrf_token": token, "confirm": "y"})
    assert restored.status_code == 302
    session.rollback()
    newest = session.scalars(select(RotaVersion).order_by(RotaVersion.id.desc())).first()
    assert newest is not None and newest.restored_from_id == first.id and newest.source == "restore"
    page = text_of(client.get(restored.headers["Location"]).get_data(as_text=True))
    assert f"Version #{first.id} er gendannet: den gælder igen som version #{newest.id}." in page
    assert f"gendannet fra #{first.id}" in page
    assert sorted(session.scalars(select(Shift.name))) == ["Bo Jensen", "Bo Jensen"] + ["Dorte Berg"] * 2 + [
        "Emil Vestergaard"
    ]
    assert audited(session)[-1] == ("rota", f"restored version #{first.id} as version #{newest.id}")


def publish_good(app: Flask, session: Session) -> None:
    author = Author("planner@x.dk", "web")
    policy, now = app.config["POLICY"], app.config["CLOCK"]()
    made = upload_rota(session, policy, GOOD.encode(), "nov.csv", now, author)
    assert made.draft is not None
    publish_draft(session, policy, made.draft.id, now, author, acknowledged=True)
    session.commit()


@pytest.mark.usefixtures("region")
def test_the_front_page_puts_tonights_gap_first_in_red_and_all_clear_in_green(
    app: Flask, session: Session, clock: Clock
) -> None:
    publish_good(app, session)
    client = signed_in(app)
    page = client.get("/").get_data(as_text=True)
    alarm = text_of(page.split('class="alarm"')[1].split("</section>")[0])
    assert "1 hul de næste 7 dage" in alarm
    assert "BFH-GER Geriatrisk Afdeling: vagttid ons. 25. nov. 15:30 – tors. 26. nov. 08:00 (16,5 t)" in alarm
    assert page.index('class="alarm"') < page.index("<h1>")  # above everything else
    clock.set("2026-11-25T09:00:00+01:00")
    soon = text_of(client.get("/").get_data(as_text=True))
    assert "om 6 t BFH-GER" in soon  # the morning of the gap: how soon it starts
    assert "Dæk dette hul" in soon  # one click from the front page to the form
    clock.set("2026-11-23T08:30:00+01:00")
    add_override(
        session,
        OverrideRequest(
            "BFH-GER",
            parse_time("2026-11-25 15:30"),
            parse_time("2026-11-26 08:00"),
            "Hanne Krogh",
            HANNE,
            role="oncall",
        ),
        clock(),
        actor="planner@x.dk",
    )
    session.commit()
    clear = client.get("/").get_data(as_text=True)
    assert 'class="alarm"' not in clear
    assert "Ingen huller de næste 7 dage (til 2026-11-30 00:00)" in clear and 'class="allclear"' in clear


@pytest.mark.usefixtures("region")
def test_the_timeline_shows_who_covers_each_stretch_and_the_gap_to_the_minute(
    app: Flask, session: Session
) -> None:
    publish_good(app, session)
    client = signed_in(app)
    response = client.get("/coverage/BFH-GER")
    text = text_of(response.get_data(as_text=True))
    assert "HUL: ingen svarer" in text
    assert "ons. 25. nov. 15:30 – tors. 26. nov. 08:00" in text
    assert "Bo Jensen +4540102002" in text and "Afdelingens telefon +4531203001" in text
    # Emil is on call too on Monday evening: both, in ring order.
    assert re.search(
        r"man\. 23\. nov\. 15:30 man\. 23\. nov\. 23:00 vagttid Bo Jensen \+4540102002 Emil", text
    )
    close = re.search(r'href="(/overrides/new\?[^"]+)">Dæk dette hul', response.get_data(as_text=True))
    assert close is not None
    assert "start=2026-11-25T15:30" in close.group(1) and "end=2026-11-26T08:00" in close.group(1)
    assert audited(session, "view")[-1] == ("coverage timeline", "BFH-GER")


@pytest.mark.usefixtures("region")
def test_the_region_sees_every_departments_week_filtered_by_hospital(app: Flask, session: Session) -> None:
    publish_good(app, session)
    client = signed_in(app, "region@x.dk")
    page = client.get("/coverage").get_data(as_text=True)
    assert 'aria-label="BFH-GER: 1 hul"' in page and 'aria-label="RH-KARD: 0 huller"' in page
    ger = page.split('aria-label="BFH-GER: 1 hul"')[1].split("</div>\n  </div>")[0]
    assert ger.count('class="k-gap"') == 1 and 'title="2026-11-25 15:30 – 2026-11-26 08:00"' in ger
    only = client.get("/coverage?hospital=Bispebjerg").get_data(as_text=True)
    assert "BFH-GER" in only and "RH-KARD" not in only
    gaps = client.get("/coverage?gaps=1").get_data(as_text=True)
    assert 'aria-label="BFH-GER' in gaps and 'aria-label="RH-KARD' not in gaps


@pytest.mark.usefixtures("region")
def test_an_override_from_a_prefilled_link_closes_the_gap_and_its_withdrawal_reopens_it(
    app: Flask, session: Session
) -> None:
    publish_good(app, session)
    client = signed_in(app)
    link = "/overrides/new?department=BFH-GER&start=2026-11-25T15:30&end=2026-11-26T08:00&role=oncall"
    form = client.get(link).get_data(as_text=True)
    assert 'value="2026-11-25T15:30"' in form and 'value="2026-11-26T08:00"' in form
    assert '<option selected value="nobody">Ingen: dæk et hul</option>' in form
    token = csrf_token(client, link)
    fields = {
        "csrf_token": token,
        "department": "BFH-GER",
        "start": "2026-11-25T15:30",
        "end": "2026-11-26T08:00",
        "replaces": "nobody",
        "role": "oncall",
        "name": "Hanne Krogh",
        "phone": "40 10 20 07",
        "reason": "Hul i planen",
    }
    saved = client.post("/overrides/new", data=fields)
    assert saved.headers["Location"] == "/coverage/BFH-GER"
    timeline = text_of(client.get("/coverage/BFH-GER").get_data(as_text=True))
    assert "Hanne Krogh +4540102007 afløsning" in timeline
    assert "ons. 25. nov. 15:30 – tors. 26. nov. 08:00" not in timeline  # the gap is gone
    override = session.scalars(select(RotaOverride)).one()
    assert audited(session)[-1] == (
        "override",
        f"#{override.id} BFH-GER 2026-11-25 15:30 to 2026-11-26 08:00: "
        "Hanne Krogh +4540102007 in a gap (oncall)",
    )
    listing = text_of(client.get("/overrides").get_data(as_text=True))
    assert "Hanne Krogh +4540102007 dækker et hul" in listing and "Hul i planen" in listing

    client.post(f"/overrides/{override.id}/withdraw", data={"csrf_token": token})
    assert "Ingen afløsninger nu eller fremover." in client.get("/overrides").get_data(as_text=True)
    assert "HUL: ingen svarer" in client.get("/coverage/BFH-GER").get_data(as_text=True)
    assert audited(session)[-1] == ("override", f"#{override.id} withdrawn (BFH-GER, Hanne Krogh)")


@pytest.mark.usefixtures("region")
def test_an_override_for_a_rota_person_offers_the_people_on_the_rota_and_an_edit_replaces_it(
    app: Flask, session: Session
) -> None:
    publish_good(app, session)
    client = signed_in(app)
    link = (
        "/overrides/new?department=BFH-GER&start=2026-11-26T15:30&end=2026-11-27T08:00&replaces=%2B4540102002"
    )
    form = client.get(link).get_data(as_text=True)
    assert re.search(r'<option selected value="\+4540102002">Bo Jensen · vagthavende 2026-11-26 15:30', form)
    token = csrf_token(client, link)
    fields = {
        "csrf_token": token,
        "department": "BFH-GER",
        "start": "2026-11-26T15:30",
        "end": "2026-11-27T08:00",
        "replaces": "+4540102002",
        "name": "Hanne Krogh",
        "phone": HANNE,
    }
    client.post("/overrides/new", data=fields)
    first = session.scalars(select(RotaOverride)).one()
    assert (first.replaces_name, first.role) == ("Bo Jensen", "oncall")
    edited = client.post(
        f"/overrides/{first.id}/edit", data={**fields, "name": "Emil Vestergaard", "phone": EMIL}
    )
    assert edited.status_code == 302
    session.rollback()
    rows = session.scalars(select(RotaOverride).order_by(RotaOverride.id)).all()
    assert [(o.name, o.ended_at is not None, o.previous_id) for o in rows] == [
        ("Hanne Krogh", True, None),
        ("Emil Vestergaard", False, first.id),
    ]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    (
        (
            {"start": "2026-11-26T15:30", "end": "2026-11-27T08:00", "replaces": ""},
            "replaces",
            "vælg hvem afløseren træder i stedet for",
        ),
        ({"phone": "12"}, "phone", "phone"),
        ({"name": ""}, "name", "give the name of who covers"),
        ({"end": "2026-11-25T12:00"}, "end", "must be after the start"),
        ({"start": "2026-03-29T02:30"}, "start", "does not exist in Copenhagen"),
        ({"replaces": "+4540109999"}, "replaces", "nobody with +4540109999 is on the rota of BFH-GER"),
        ({"department": "RH-KARD"}, "department", "no department 'RH-KARD' you may edit"),
    ),
)
@pytest.mark.usefixtures("region")
def test_a_refused_override_names_the_field_beside_it_and_stores_nothing(
    app: Flask, session: Session, fields: dict[str, str], field: str, message: str
) -> None:
    publish_good(app, session)
    client = signed_in(app)
    data = {
        "csrf_token": csrf_token(client, "/overrides/new"),
        "department": "BFH-GER",
        "start": "2026-11-25T15:30",
        "end": "2026-11-26T08:00",
        "replaces": "nobody",
        "role": "oncall",
        "name": "Hanne Krogh",
        "phone": HANNE,
        **fields,
    }
    response = client.post("/overrides/new", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    beside = re.search(rf'<p class="field-error" id="{field}-error" role="alert">([^<]*)</p>', page)
    assert beside is not None and message in html.unescape(beside.group(1))
    assert f'aria-describedby="{field}-error"' in page
    assert count(session, RotaOverride) == 0
    assert audited(session) == []


@pytest.mark.usefixtures("region")
def test_the_login_returns_to_the_prefilled_form_an_sms_link_opened_and_never_to_another_site(
    app: Flask,
) -> None:
    link = "/overrides/new?department=BFH-GER&start=2026-11-25T15:30&end=2026-11-26T08:00"
    client = app.test_client()
    bounced = client.get(link)
    assert bounced.status_code == 302 and "/login?next=" in bounced.headers["Location"]
    login_page = client.get(bounced.headers["Location"]).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page)
    action = re.search(r'<form method="post" action="(/login[^"]*)"', login_page)
    assert token and action
    arrived = client.post(
        action.group(1).replace("&amp;", "&"),
        data={"email": "planner@x.dk", "password": f.PASSWORD, "csrf_token": token.group(1)},
    )
    assert arrived.headers["Location"] == link
    for elsewhere in ("https://evil.example/x", "//evil.example/x", "/\\evil.example"):
        other = app.test_client()
        other.get("/login")
        response = other.post(
            "/login?next=" + elsewhere,
            data={"email": "planner@x.dk", "password": f.PASSWORD, "csrf_token": csrf_token(other)},
        )
        assert response.headers["Location"] == "/"
