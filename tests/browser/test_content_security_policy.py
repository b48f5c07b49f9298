"""The pages under their Content-Security-Policy in a browser that keeps to it: no violation,
and the NHS design system's JavaScript (from files, no inline script) still starts."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from accounts.models import User
from tests.browser.conftest import sign_in

# Recorded by the browser itself before any page script runs (an init script is not subject
# to the page's policy), and in the console as Chromium reports a refused resource.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


def _watch(page: Page) -> list[str]:
    console: list[str] = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on("console", lambda message: console.append(message.text)
            if "Content Security Policy" in message.text else None)
    return console


def _violations(page: Page, console: list[str]) -> list[str]:
    return [*page.evaluate("window.__cspViolations"), *console]


def test_pages_keep_to_the_policy_and_the_design_system_starts(page_under_csp: Page,
                                                                submitter: User) -> None:
    page = page_under_csp
    console = _watch(page)
    sign_in(page, submitter)
    for url in ("/provider/", "/submissions/", "/submissions/upload/", "/provider/api-tokens/"):
        page.goto(url)
        page.wait_for_load_state("load")
        expect(page.locator("body")).to_have_class(
            re.compile(r"\bjs-enabled\b.*\bnhsuk-frontend-supported\b"))
        expect(page.locator("[data-module='nhsuk-skip-link']")).to_have_attribute(
            "data-nhsuk-skip-link-init", "")
        assert not _violations(page, console), url


def test_the_admin_keeps_to_the_policy(page_under_csp: Page, reference_admin: User) -> None:
    page = page_under_csp
    console = _watch(page)
    sign_in(page, reference_admin)
    for url in ("/admin/", "/admin/reference/organisation/",
                "/admin/reference/organisation/RR8/change/"):
        page.goto(url)
        page.wait_for_load_state("load")
        expect(page.locator("#site-name")).to_contain_text("DIDS Portal administration")
        assert not _violations(page, console), url
    # The admin's own scripts run: the sidebar's filter box is there only with JavaScript.
    page.goto("/admin/reference/organisation/")
    expect(page.locator("#nav-filter")).to_be_visible()


def test_the_api_docs_ask_for_nothing_their_policy_refuses(page_under_csp: Page,
                                                           submitter: User) -> None:
    """Swagger UI's files come from the portal itself (drf-spectacular-sidecar), so the docs
    work with no internet; its start-up script comes from the page's own address, not inline."""
    page = page_under_csp
    console = _watch(page)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    sign_in(page, submitter)
    page.goto("/api/docs/")
    page.wait_for_load_state("load")

    assert not _violations(page, console)
    assert any("/api/docs/?" in url and "script" in url for url in requested)
    own = page.url.split("/api/")[0]
    assert [url for url in requested if not url.startswith((own, "data:"))] == []
    assert any(url.endswith("swagger-ui-bundle.js") for url in requested)
