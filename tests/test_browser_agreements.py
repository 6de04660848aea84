"""An admin changes Zealand's agreement in a real headless Chromium: a bad value, mended, saved.

Screenshots go to screenshots/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.data.models import Department
from app.intake.agreements import read_agreements
from app.intake.table import Problems
from app.services.agreements import upsert_agreements
from tests.test_agreements import AGREEMENTS_TOML
from tests.test_browser import browser, live, pytestmark, shot, sign_in  # noqa: F401  (fixtures)


@pytest.fixture
def zealand(app: Flask, session: Session, live: str) -> Iterator[str]:  # noqa: F811
    """The demo region, with Zealand's agreement for Nordsjælland's medicine (closed 2 January too)."""
    upsert_agreements(session, read_agreements(AGREEMENTS_TOML, Problems("agreements.toml")))
    department = session.scalars(select(Department).where(Department.code == "NOH-MED")).one()
    department.agreement, department.closed_days = "SJ", ["01-02"]
    session.commit()
    yield live


def test_an_admin_mends_a_bad_window_and_saves_zealands_agreement(
    zealand: str,
    browser: object,  # noqa: F811
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    sign_in(page, zealand, "admin@demo.linje72.dk", "demo-admin-7272")
    page.wait_for_selector("h1:has-text('Hvem svarer nu')")
    page.click("nav >> text=Aftaler")
    page.wait_for_selector("h1:has-text('Aftaler')")
    row = page.locator("#agreement-SJ")
    assert "96 timer" in row.inner_text()
    assert "NOH-MED (egen kalender: lukket 01-02)" in row.inner_text()
    assert "standard" in page.locator("tr.default").inner_text()
    shot(page, "40-agreements")
    row.locator("text=Ret").click()
    page.wait_for_selector("h1:has-text('Aftale SJ')")
    page.fill("#window_hours", "0")
    page.fill("#fallback_number", "+45 5651")
    page.click("button:has-text('Gem aftalen')")
    page.wait_for_selector("text=Ikke gemt: ret det, der er markeret nedenfor.")
    assert page.locator("#window_hours-error").inner_text() == "Et helt antal timer, mindst 1."
    assert "Et fuldt telefonnummer" in page.locator("#fallback_number-error").inner_text()
    assert page.locator("#window_hours").get_attribute("aria-invalid") == "true"
    shot(page, "41-agreement-errors")
    page.fill("#window_hours", "72")
    page.fill("#fallback_number", "+45 56 51 00 00")
    page.fill("#half_days", "06-05 12:00\n12-23 13:00")
    page.click("button:has-text('Gem aftalen')")
    page.wait_for_selector("text=Aftalen SJ er gemt.")
    row = page.locator("#agreement-SJ")
    assert "72 timer" in row.inner_text()
    assert "halve dage 06-05 12:00, 12-23 13:00" in row.inner_text()
    shot(page, "42-agreements-saved")
    page.click("nav >> text=Revisionslog")
    page.wait_for_selector("text=window_hours: 96 → 72")
    shot(page, "43-audit-agreement-change")

    phone = browser.new_page(viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    sign_in(phone, zealand, "admin@demo.linje72.dk", "demo-admin-7272")
    phone.wait_for_selector("h1:has-text('Hvem svarer nu')")
    phone.goto(zealand + "/agreements")
    shot(phone, "44-phone-agreements")
    phone.goto(zealand + "/agreements/SJ/edit")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "45-phone-agreement-form")
