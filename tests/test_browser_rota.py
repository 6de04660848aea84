"""A planner's morning in a real headless Chromium: a file with errors, the corrected file, the preview,
publish, the gap in red on the timeline, an override that closes it, and all clear in green.

Screenshots of every page are written to screenshots/ for a person to look at.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from tests import factories as f
from tests import test_browser
from tests.console import served
from tests.support import Clock
from tests.test_browser import SHOTS, shot, sign_in
from tests.test_planning import BAD, GOOD

# The same Chromium, and the same skip when it is not installed.
browser = test_browser.browser
pytestmark = test_browser.pytestmark

# Other departments, so that the region's overview looks like a region.
OTHERS = (
    ("RH-NEUR", "Neurologisk Klinik", "Rigshospitalet"),
    ("HGH-LUNG", "Lungemedicinsk Afdeling", "Herlev og Gentofte Hospital"),
    ("AHH-MED", "Medicinsk Afdeling", "Amager og Hvidovre Hospital"),
    ("NOH-MED", "Medicinsk Afdeling", "Nordsjællands Hospital Hillerød"),
    ("BOH-MED", "Medicinsk Afdeling", "Bornholms Hospital"),
)


@pytest.fixture
def live(app: Flask, session: Session, clock: Clock) -> Iterator[str]:
    """BFH-GER without an on-call phone (its nights need a doctor), a few others, and the app on loopback."""
    clock.set("2026-11-23T08:30:00+01:00")  # Monday morning
    f.department(session)
    f.department(
        session,
        "BFH-GER",
        name="Geriatrisk Afdeling",
        hospital="Bispebjerg og Frederiksberg Hospital",
        oncall_phone=None,
        day_phone="+4531203001",
        day_hours="08:00-15:30",
    )
    for number, (code, name, hospital) in enumerate(OTHERS):
        f.department(session, code, name=name, hospital=hospital, oncall_phone=f"+453140{number:04d}")
    palliative = f.department(
        session,
        "BFH-PAL",
        name="Palliativ Enhed",
        hospital="Bispebjerg og Frederiksberg Hospital",
        oncall_phone=None,
    )
    f.shift(
        session, palliative, "oncall", "2026-11-23 15:00", "2026-11-24 08:00", "+4540109001", "Ulla Friis"
    )
    f.user(session, "planner@x.dk", "planner", ("BFH-GER",))
    f.user(session, "region@x.dk", "region")
    session.commit()
    with served(app) as url:
        yield url


def test_a_planner_uploads_publishes_sees_the_gap_and_closes_it_with_an_override(
    live: str, browser: object, clock: Clock
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="da-DK")  # type: ignore[attr-defined]
    sign_in(page, live, "planner@x.dk", f.PASSWORD)
    # Before any rota, every night of the week is a gap: the front page says so first.
    page.wait_for_selector("section.alarm")
    assert "BFH-GER" in page.inner_text("section.alarm")
    shot(page, "20-front-gaps-before-rota")

    page.click("nav >> text=Upload vagtplan")
    page.set_input_files(
        "input[type=file]", {"name": "nov.csv", "mimeType": "text/csv", "buffer": BAD.encode()}
    )
    page.click("button:has-text('Upload og se forhåndsvisning')")
    page.wait_for_selector("h2:has-text('nov.csv blev ikke modtaget: 3 problemer')")
    rows = page.locator("section.errors tbody tr")
    assert rows.count() == 3
    assert rows.nth(0).inner_text().split("\t") == ["række 3", "end", "must be after start"]
    shot(page, "21-upload-errors")

    page.set_input_files(
        "input[type=file]", {"name": "nov.csv", "mimeType": "text/csv", "buffer": GOOD.encode()}
    )
    page.click("button:has-text('Upload og se forhåndsvisning')")
    page.wait_for_selector("h1:has-text('Forhåndsvisning: nov.csv')")
    gap = page.inner_text("section.alarm")
    assert "2026-11-25 15:30" in gap and "2026-11-26 08:00" in gap
    assert "both are rung, earliest start first" in page.content()
    assert page.locator("table.diff tr.added").count() == 5
    shot(page, "22-draft-preview")

    page.click("button:has-text('Offentliggør')")  # not ticked: the browser holds it back
    assert "/rota/drafts/" in page.url
    page.check("input[name=acknowledged]")
    page.click("button:has-text('Offentliggør')")
    page.wait_for_selector("p.flash.ok:has-text('gælder nu')")
    assert page.inner_text("h1").startswith("Vagtplan, version #")
    shot(page, "23-published-version")

    page.click("nav >> text=Dækning")
    page.click("a:has-text('BFH-GER')")
    page.wait_for_selector("h1:has-text('Geriatrisk Afdeling')")
    assert page.locator(".band.k-gap").count() >= 1
    assert "vagttid ons. 25. nov. 15:30 – tors. 26. nov. 08:00 (16,5 t)" in page.inner_text("section.alarm")
    shot(page, "24-timeline-gap")

    page.click("section.alarm li:has-text('25. nov.') >> text=Dæk dette hul")
    page.wait_for_selector("h1:has-text('Ny afløsning')")
    assert page.input_value("#start") == "2026-11-25T15:30" and page.input_value("#end") == "2026-11-26T08:00"
    page.fill("#name", "Hanne Krogh")
    page.fill("#phone", "40 10 20 07")
    page.fill("#reason", "Hul i novemberplanen")
    shot(page, "25-override-form")
    page.click("button:has-text('Gem afløsningen')")
    page.wait_for_selector("p.flash.ok")
    assert "25. nov. 15:30 – tors. 26. nov. 08:00" not in page.inner_text("main")
    assert page.locator(".band.k-override").count() >= 1
    shot(page, "26-timeline-gap-closed")

    page.click("nav >> text=Hvem svarer nu")
    page.wait_for_selector("p.allclear")
    assert "Ingen huller de næste 7 dage (til 2026-11-30 00:00)" in page.inner_text("p.allclear")
    shot(page, "27-front-all-clear")
    page.click("nav >> text=Versioner")
    shot(page, "28-versions")
    page.click("nav >> text=Afløsninger")
    assert "Hanne Krogh" in page.inner_text("table")
    shot(page, "29-overrides")

    phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="da-DK")  # type: ignore[attr-defined]
    sign_in(phone, live, "planner@x.dk", f.PASSWORD)
    phone.wait_for_selector("p.allclear")
    shot(phone, "30-phone-front")
    phone.goto(live + "/coverage/BFH-GER")
    shot(phone, "31-phone-timeline")
    phone.locator("table.stretches").scroll_into_view_if_needed()
    phone.screenshot(path=str(SHOTS / "31b-phone-stretches.png"))  # what the thumb sees, full size
    phone.goto(live + "/overrides/new?department=BFH-GER&start=2026-11-26T15:30&end=2026-11-27T08:00")
    shot(phone, "32-phone-override-form")

    region = browser.new_page(viewport={"width": 1280, "height": 900}, locale="da-DK")  # type: ignore[attr-defined]
    sign_in(region, live, "region@x.dk", f.PASSWORD)
    region.goto(live + "/coverage")
    region.wait_for_selector(".ov-row.has-gap")
    assert region.locator(".ov-row.has-gap .ov-label a").all_inner_texts() == ["BFH-PAL"]
    shot(region, "33-region-overview")
