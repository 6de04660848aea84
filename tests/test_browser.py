"""The console in a real headless Chromium: log in as each role, read, filter, switch language, log out.

Screenshots of every page are written to screenshots/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from app.demo import seed_demo
from app.demo.data import ACCOUNTS, DEPARTMENTS
from ivr.simulator import ScriptedPhone, play_call
from tests.console import served

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[1] / "screenshots"
# Locally without Chromium the browser tests are skipped; in CI (.ci/run installs it) they must run.
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (.ci/run installs it)",
)


@pytest.fixture
def live(app: Flask, session: Session) -> Iterator[str]:
    """The demo region, a few calls, and the app serving on a loopback port."""
    seed_demo(session, app.extensions["linje72.vault"], app.config["POLICY"], app.config["CLOCK"]())
    session.commit()
    play_call(
        app, "+4532501010", ScriptedPhone(["0101451001", "1"], {"+4540101001": "1", "+4540101004": "1"})
    )
    play_call(app, "+4532501020", ScriptedPhone(["0202501002", "1"], {}))
    play_call(app, "+4532501010", ScriptedPhone(["0404381004", "1"], {}), test_call=True)
    with served(app) as url:
        yield url


@pytest.fixture
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


def sign_in(page: object, live: str, email: str, password: str) -> None:
    """Log in through the form, as a person does."""
    page.goto(live + "/login")  # type: ignore[attr-defined]
    page.fill("input[name=email]", email)  # type: ignore[attr-defined]
    page.fill("input[name=password]", password)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]


def shot(page: object, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


@pytest.mark.parametrize("account", ACCOUNTS, ids=lambda account: account.role)
def test_each_role_logs_in_reads_who_answers_now_and_logs_out(
    live: str, browser: object, account: object
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page.goto(live + "/")
    assert page.url.endswith("/login?next=%2F") or "/login" in page.url
    shot(page, "01-login")
    page.fill("input[name=email]", account.email)  # type: ignore[attr-defined]
    page.fill("input[name=password]", account.password)  # type: ignore[attr-defined]
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Hvem svarer nu')")
    cards = page.locator("section.card")
    expected = len(account.departments) if account.departments else len(DEPARTMENTS)  # type: ignore[attr-defined]
    assert cards.count() == expected
    shot(page, f"02-who-answers-now-{account.role}")  # type: ignore[attr-defined]
    if account.role in ("admin", "region", "department"):  # type: ignore[attr-defined]
        page.click("nav >> text=Kontaktlog")
        page.wait_for_selector("h1:has-text('Kontaktlog')")
        assert "P-" in page.content()
        shot(page, f"03-contact-log-{account.role}")  # type: ignore[attr-defined]
    else:
        assert page.locator("nav >> text=Kontaktlog").count() == 0
    page.click("header >> text=Log ud")
    page.wait_for_selector("h1:has-text('Log ind på Linje 72')")


def test_a_department_filters_the_contact_log_and_switches_to_english(live: str, browser: object) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    sign_in(page, live, "admin@demo.linje72.dk", "demo-admin-7272")
    page.wait_for_selector("h1:has-text('Hvem svarer nu')")
    # A night at Bispebjerg: the demo leaves its geriatrics without an on-call doctor.
    page.goto(live + "/?hospital=Bispebjerg+og+Frederiksberg+Hospital&at=2026-11-24T22:00")
    assert page.locator("section.card.gap").count() == 1
    shot(page, "04-gap-at-night")
    page.goto(live + "/contacts")
    page.select_option("select[name=outcome]", "unanswered")
    page.click("form.filters button[type=submit]")
    page.wait_for_selector("text=Ingen opkald passer.", state="detached")
    rows = page.locator("tbody tr")
    assert rows.count() == 2  # the unanswered call, and the test call (marked)
    assert page.locator("text=testopkald").count() == 1
    shot(page, "05-contact-log-filtered")
    page.click("header >> button:has-text('English')")
    page.wait_for_selector("h1:has-text('Contact log')")
    assert page.locator("text=unanswered").count() >= 1
    shot(page, "06-contact-log-english")
    page.click("nav >> text=Audit log")
    page.wait_for_selector("h1:has-text('Audit log')")
    shot(page, "07-audit-log")
    phone = browser.new_page(viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    sign_in(phone, live, "afdeling@demo.linje72.dk", "demo-afdeling-7272")
    phone.wait_for_selector("section.card")
    shot(phone, "08-phone-who-answers-now")


def test_the_region_sees_and_filters_the_agreements_on_a_phone(
    app: Flask, session: Session, live: str, browser: object
) -> None:
    # The demo runs two agreements: the Capital Region's (HOV) and Zealand's (SJ, for SUH-MED).
    play_call(app, "+4532501010", ScriptedPhone(["0101451001", "1"], {"+4540101001": "1"}))
    play_call(app, "+4556631010", ScriptedPhone(["2207511011", "1"]))
    phone = browser.new_page(viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    sign_in(phone, live, "region@demo.linje72.dk", "demo-region-7272")
    phone.wait_for_selector("section.card")
    badge = phone.locator("section.card[aria-label=SUH-MED] abbr.badge.agreement")
    assert (badge.inner_text(), badge.get_attribute("title")) == ("SJ", "Aftale: Region Sjælland")
    assert phone.locator("abbr.badge.agreement").count() == len(DEPARTMENTS)  # each under its own
    shot(phone, "09-phone-who-answers-now-agreement")
    phone.goto(live + "/contacts")
    phone.select_option("select[name=agreement]", "SJ")
    phone.click("form.filters button[type=submit]")
    phone.wait_for_url("**agreement=SJ**")
    rows = phone.locator("tbody tr")
    assert rows.count() == 1  # the Zealand patient's call, not the Capital Region's
    assert rows.locator("abbr[title='Region Sjælland']").inner_text() == "SJ"
    shot(phone, "10-phone-contact-log-by-agreement")
    phone.goto(live + "/coverage?agreement=SJ")
    assert phone.locator(".ov-label a").all_inner_texts() == ["SUH-GER", "SUH-MED", "SUH-VAGT"]
    shot(phone, "11-phone-coverage-by-agreement")
