"""A department nurse in a real headless Chromium: finds a patient by CPR number, extends the
responsibility, and sees the new end. Screenshots go to screenshots/ for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from tests import factories as f
from tests import test_browser
from tests.console import served
from tests.support import Clock
from tests.test_browser import shot, sign_in

browser = test_browser.browser
pytestmark = test_browser.pytestmark

# A few more of the department's patients, so that the list looks like a Monday morning.
OTHERS = (
    ("SP-11", "1203451232", "2026-11-22T14:00", "home_nursing", "Frederiksberg"),
    ("SP-12", "2807381230", "2026-11-20T16:45", "temporary_stay", "København"),
    ("SP-13", "0911291238", "2026-11-23T08:15", "residential", "Gentofte"),
)


@pytest.fixture
def live(app: Flask, session: Session, clock: Clock) -> Iterator[str]:
    """RH-KARD's patients on Monday 23 November 10:00, one notified without a target group, and the app."""
    clock.set("2026-11-23T10:00:00+01:00")
    cardiology = f.department(session)
    row = f.discharge(app, session, cardiology, "2026-11-21T10:30", admitted_at="2026-11-15T08:10")
    row.municipality = "København"
    for external_id, cpr, at, destination, municipality in OTHERS:
        other = f.discharge(
            app, session, cardiology, at, cpr=cpr, external_id=external_id, destination=destination
        )
        other.municipality = municipality
    notified = f.discharge(
        app, session, cardiology, "2026-11-22T18:20", cpr="1505471236", external_id="SP-14"
    )
    notified.destination, notified.target_group, notified.source = None, None, "fhir"
    inside = f.discharge(
        app,
        session,
        cardiology,
        "2026-11-21T09:00",
        cpr="0302331234",
        external_id="SP-15",
        admitted_at="2026-11-21T09:00",
    )
    inside.status, inside.discharged_at = "admitted", None  # admitted on Saturday, still in hospital
    f.user(session, "sygeplejerske@rh.dk", "department", ("RH-KARD",))
    session.commit()
    with served(app) as url:
        yield url


def test_a_department_finds_a_patient_by_cpr_extends_the_responsibility_and_sees_the_new_end(
    live: str, browser: object
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="da-DK")  # type: ignore[attr-defined]
    sign_in(page, live, "sygeplejerske@rh.dk", f.PASSWORD)
    page.click("nav >> text=Patienter")
    page.wait_for_selector("h1:has-text('Patienter')")
    assert page.locator("section[aria-label='Under ansvar nu'] tbody tr").count() == 4
    assert "030233-xxxx" in page.inner_text("section[aria-label='Indlagt nu']")
    shot(page, "patients-01-list")

    page.fill("input[name=cpr]", "010140-1234")
    page.click("button:has-text('Find')")
    page.wait_for_selector("h2:has-text('Søgeresultat')")
    assert "010140-1234" not in page.url and "0101401234" not in page.content()
    shot(page, "patients-02-search")

    page.click("section[aria-label='Søgeresultat'] a:has-text('010140-xxxx')")
    page.wait_for_selector("h2:has-text('Forlæng ansvaret')")
    assert "tirs. 2026-11-24 10:30" in page.inner_text("section.state-panel")
    shot(page, "patients-03-stay")

    page.fill("input[name=until]", "2026-11-25T12:00")
    page.fill("input[name=reason]", "Ikke klinisk stabil, ny blodprøve onsdag")
    page.click("button:has-text('Forlæng')")
    page.wait_for_selector("p.flash:has-text('Ansvaret er forlænget.')")
    state = page.inner_text("section.state-panel")
    assert "ons. 2026-11-25 12:00" in state
    assert "Ikke klinisk stabil" in page.inner_text("ul.history")
    shot(page, "patients-04-extended")

    page.click("button:has-text('Vis hele CPR-nummeret')")
    page.wait_for_selector("h1:has-text('0101401234')")
    assert "0101401234" not in page.url
    shot(page, "patients-05-cpr-shown")

    phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="da-DK")  # type: ignore[attr-defined]
    sign_in(phone, live, "sygeplejerske@rh.dk", f.PASSWORD)
    phone.goto(live + "/patients")
    shot(phone, "patients-06-phone")
