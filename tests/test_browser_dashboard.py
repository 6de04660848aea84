"""The region's dashboard in a real headless Chromium: open it, read the tiles, filter, export.

Screenshots go to screenshots/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.data.models import Department
from app.demo import seed_demo
from tests.region_statistics import simulate, store
from tests.test_browser import CHROMIUM, SHOTS, browser, live, shot, sign_in  # noqa: F401  (fixtures)

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
MUNICIPALITIES = ("København", "Frederiksberg", "Gentofte", "Hillerød", "Hvidovre", "Bornholm", "Gladsaxe",
                  "Helsingør", "Tårnby", "Ballerup", "Roskilde", "Køge")  # fmt: skip


@pytest.fixture
def region_year(app: Flask, session: Session, runner: FlaskCliRunner) -> Iterator[dict[str, int]]:
    """The demo region, its health councils, and three months of simulated calls counted."""
    seed_demo(session, app.extensions["linje72.vault"], app.config["POLICY"], app.config["CLOCK"]())
    departments = [(d.code, d.agreement or "", d.hospital) for d in session.scalars(select(Department))]
    sums = simulate([(c, a) for c, a, _ in departments], MUNICIPALITIES, date(2026, 9, 1), 84, 6000)
    store(session, sums)
    session.commit()
    assert (
        runner.invoke(args=["import", "health-councils", str(EXAMPLES / "health-councils.csv")]).exit_code
        == 0
    )
    hospital = {code: name for code, _, name in departments}
    november = {}
    for bucket, counts in sums.items():
        if bucket[0] >= date(2026, 11, 1):
            november["all"] = november.get("all", 0) + counts["calls"]
            name = hospital.get(bucket[1], "")
            november[name] = november.get(name, 0) + counts["calls"]
    yield november


def test_the_region_opens_the_dashboard_filters_it_and_reads_it_on_a_phone(
    region_year: dict[str, int],
    live: str,  # noqa: F811
    browser: object,  # noqa: F811
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    sign_in(page, live, "region@demo.linje72.dk", "demo-region-7272")
    page.wait_for_selector("h1:has-text('Hvem svarer nu')")
    page.click("nav >> text=Monitorering")
    page.wait_for_selector("h1:has-text('Monitorering')")
    # This month so far (the clock says 23 November 2026): the demo's three calls are not counted yet.
    tile = page.locator(".tile:has(h2:has-text('Kontakter')) .figure")
    assert tile.inner_text() == str(region_year["all"])
    assert page.locator("svg.chart").count() == 10
    shot(page, "40-dashboard-this-month")
    page.select_option("select[name=hospital]", "Rigshospitalet")
    page.click("form.filters button[type=submit]")
    page.wait_for_selector(
        "select[name=hospital] >> option[selected]:has-text('Rigshospitalet')", state="attached"
    )
    assert tile.inner_text() == str(region_year["Rigshospitalet"])
    assert "hospital=Rigshospitalet" in page.url
    shot(page, "41-dashboard-filtered-rigshospitalet")
    page.click("nav.presets >> text=I år")
    page.wait_for_selector("h2:has-text('Kontakter pr. uge')")
    shot(page, "42-dashboard-this-year-weeks")
    page.locator("#councils summary").click()
    assert page.locator("#councils table tbody tr").count() >= 4
    with page.expect_download() as download:
        page.click("#councils >> text=Excel")
    assert download.value.suggested_filename.endswith(".xlsx")
    phone = browser.new_page(viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    sign_in(phone, live, "region@demo.linje72.dk", "demo-region-7272")
    phone.goto(live + "/dashboard?preset=last_month")
    phone.wait_for_selector("svg.chart")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "43-dashboard-phone")
    phone.locator("#hospitals").scroll_into_view_if_needed()
    phone.screenshot(path=str(SHOTS / "44-dashboard-phone-hospitals.png"))
