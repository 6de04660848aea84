"""A department nurse in a real headless Chromium works the follow-up worklist: sees the overdue call
first, in red, takes it, closes it with what the call back led to, and is reminded that the advice
belongs in the EHR. Screenshots go to screenshots/ for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.data.models import FollowUp, VoiceMessage
from ivr.simulator import ScriptedPhone, play_call
from tests import factories as f
from tests import test_browser
from tests.console import served
from tests.support import Clock
from tests.test_browser import shot, sign_in

browser = test_browser.browser
pytestmark = test_browser.pytestmark

VALBY, SOLGAARDEN = "+4532501010", "+4532501020"


@pytest.fixture
def live(app: Flask, session: Session, clock: Clock) -> Iterator[str]:
    """Two calls nobody answered on Monday morning: one at 08:50 (overdue by 10:05), one at 09:55."""
    dept = f.department(session)
    f.caller(session)
    f.caller(
        session, phone=SOLGAARDEN, code="4712", organisation="Plejecenter Solgården", kind="nursing_home"
    )
    f.discharge(app, session, dept, "2026-11-21T10:30")
    f.discharge(app, session, dept, "2026-11-22T14:00", cpr="1203451232", external_id="SP-11")
    f.user(session, "sygeplejerske@rh.dk", "department", ("RH-KARD",))
    session.commit()
    clock.set("2026-11-23T08:50:00+01:00")
    play_call(app, VALBY, ScriptedPhone(["0101401234", "1"]))
    clock.set("2026-11-23T09:55:00+01:00")
    play_call(app, SOLGAARDEN, ScriptedPhone(["1203451232", "1"]))
    session.expire_all()
    later = session.scalars(select(FollowUp).order_by(FollowUp.id)).all()[1]
    session.add(
        VoiceMessage(
            contact_id=later.contact_id,
            recording_sid="RE" + "2" * 32,
            recorded_at=clock.now,
            seconds=18,
            audio_encrypted=b"stand-in",
            stored_at=clock.now,
        )
    )
    session.commit()
    clock.set("2026-11-23T10:05:00+01:00")
    with served(app) as url:
        yield url


def test_a_nurse_works_the_overdue_call_from_open_through_taken_to_closed(live: str, browser: object) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="da-DK")  # type: ignore[attr-defined]
    sign_in(page, live, "sygeplejerske@rh.dk", f.PASSWORD)
    page.click("nav >> text=Opfølgning")
    page.wait_for_selector("h1:has-text('Opfølgning')")
    tasks = page.locator("li.task")
    assert tasks.count() == 2
    first = tasks.nth(0)
    assert "overdue" in (first.get_attribute("class") or "")
    assert "Hjemmesygeplejen Valby" in first.inner_text() and "forsinket" in first.inner_text()
    assert "Plejecenter Solgården" in tasks.nth(1).inner_text() and "talebesked" in tasks.nth(1).inner_text()
    assert first.locator(f"a[href='tel:{VALBY}']").count() == 1
    assert "010140-xxxx" in first.inner_text() and "0101401234" not in page.content()
    # The overdue badge is red: it must stand out on a busy morning.
    assert (
        first.locator(".badge.overdue").evaluate("e => getComputedStyle(e).backgroundColor")
        == "rgb(179, 38, 30)"
    )
    shot(page, "followup-01-worklist")

    first.locator("a.task-link").click()
    page.wait_for_selector("h2:has-text('Tag opgaven')")
    assert "Sundhedsplatformen" in page.inner_text("form.close-form")
    shot(page, "followup-02-task")

    page.click("button:has-text('Tag den')")
    page.wait_for_selector("p.flash:has-text('Du har taget opgaven')")
    assert "sygeplejerske@rh.dk har taget den" in page.inner_text("section.task-state")
    shot(page, "followup-03-taken")

    page.click("button:has-text('Vis hele CPR-nummeret')")
    page.wait_for_selector("td:has-text('0101401234')")
    assert "0101401234" not in page.url
    page.check("input[value=medication_changed]")
    shot(page, "followup-04-closing")
    page.click("button:has-text('Afslut opgaven')")
    page.wait_for_selector("p.flash:has-text('Opgaven er afsluttet')")
    assert "Sundhedsplatformen" in page.inner_text("p.flash")
    assert page.locator("li.task").count() == 1
    closed = page.inner_text("section[aria-label='Afsluttet, seneste 7 dage']")
    assert "Hjemmesygeplejen Valby" in closed and "Medicin ændret" in closed
    shot(page, "followup-05-closed")

    phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="da-DK")  # type: ignore[attr-defined]
    sign_in(phone, live, "sygeplejerske@rh.dk", f.PASSWORD)
    phone.goto(live + "/followup")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "followup-06-phone")
    phone.locator("li.task a.task-link").first.click()
    phone.wait_for_selector("audio")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "followup-07-phone-task")
