"""Every page of the console passes its strict Content-Security-Policy in headless Chromium, for each role."""

from __future__ import annotations

import pytest

from app.demo.data import ACCOUNTS
from tests.test_browser import browser, live, pytestmark, sign_in  # noqa: F401 - fixtures, skip mark

# Collected from the page's first script on: any violation of the policy, and the console's errors.
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


@pytest.mark.parametrize("account", ACCOUNTS, ids=lambda account: account.role)
def test_every_page_of_a_role_runs_with_no_policy_violation_or_console_error(
    live: str,  # noqa: F811
    browser: object,  # noqa: F811
    account: object,
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page.add_init_script(WATCH)
    messages: list[str] = []
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: messages.append(f"pageerror: {error}"))
    failed: list[str] = []
    page.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)
    sign_in(page, live, account.email, account.password)  # type: ignore[attr-defined]
    page.wait_for_selector("h1:has-text('Hvem svarer nu')")
    links = page.eval_on_selector_all("nav a", "links => links.map(link => link.getAttribute('href'))")
    visited = {}
    for path in [*links, "/api/v1/docs"]:
        response = page.goto(live + path)
        assert response is not None and response.status == 200, path
        assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
        visited[path] = page.evaluate("window.__violations")
        if path == "/coverage":
            # The bands are placed from their data attributes by the console's script.
            script = "bands => bands.filter(band => band.style.width).length"
            placed = page.eval_on_selector_all(".ov-strip i", script)
            assert placed > 0
    assert len(visited) > 2
    assert {path: found for path, found in visited.items() if found} == {}
    # The browser asks for /favicon.ico on its own; there is none, and that is no error of a page.
    assert [url for url in failed if not url.endswith("/favicon.ico")] == []
    errors = [message for message in messages if message.startswith(("error", "pageerror"))]
    assert [message for message in errors if "Failed to load resource" not in message] == []
