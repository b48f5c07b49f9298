"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

The live server serves static files through the staticfiles finders (as Django's
StaticLiveServerTestCase does), so pages get the NHS design system built into static/vendor/.
Each main page is screenshotted into test-artefacts/screenshots/ and checked with axe-core
(from node_modules) for serious or critical accessibility violations.

No browser is ever downloaded: without /usr/bin/chromium (`.ci/browser-deps` installs it) the
tests are skipped, and with DIDS_REQUIRE_SERVICES=1 (CI) they fail instead.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from accounts.models import User
from tests.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "test-artefacts"
SCREENSHOTS = ARTEFACTS / "screenshots"
AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# What axe checks: WCAG 2.2 A and AA, and its best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
BLOCKING_IMPACTS = {"serious", "critical"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    missing = [
        what
        for what, path in (("Chromium", CHROMIUM), ("axe-core", AXE_SCRIPT))
        if not path.exists()
    ]
    required = os.environ.get("DIDS_REQUIRE_SERVICES") == "1"
    for item in items:
        if here not in Path(str(item.fspath)).parents:
            continue
        item.add_marker(pytest.mark.browser)
        if missing and not required:
            item.add_marker(
                pytest.mark.skip(
                    reason=f"needs {' and '.join(missing)} (run: bash .ci/browser-deps)"
                )
            )


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run `bash .ci/browser-deps` (never download a browser)"
        )
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # synchronous and safe, so Django's async-context guard is lifted for the browser tests.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _new_page(browser: Browser, base_url: str, *, javascript: bool = True,
              bypass_csp: bool = True) -> Page:
    # The pages' Content-Security-Policy allows no inline script, and axe-core goes in as one
    # (page.add_script_tag): the checked pages bypass it. ``page_under_csp`` does not.
    context = browser.new_context(
        base_url=base_url,
        viewport={"width": 1280, "height": 900},
        locale="en-GB",
        java_script_enabled=javascript,
        bypass_csp=bypass_csp,
    )
    context.set_default_timeout(10_000)
    return context.new_page()


@pytest.fixture
def page(browser: Browser, live_server, transactional_db: None) -> Iterator[Page]:
    page = _new_page(browser, live_server.url)
    yield page
    page.context.close()


@pytest.fixture
def page_under_csp(browser: Browser, live_server, transactional_db: None) -> Iterator[Page]:
    """A page that keeps to the Content-Security-Policy, as a real browser does."""
    page = _new_page(browser, live_server.url, bypass_csp=False)
    yield page
    page.context.close()


@pytest.fixture
def page_without_javascript(
    browser: Browser, live_server, transactional_db: None
) -> Iterator[Page]:
    page = _new_page(browser, live_server.url, javascript=False)
    yield page
    page.context.close()


def sign_in(page: Page, user: User, password: str = PASSWORD) -> None:
    """Sign in through the pages; users who need a second factor get a TOTP device and give
    its current code on the second step."""
    from accounts.selectors import second_factor_required
    from tests.conftest import totp_code, verified_device

    device = verified_device(user) if second_factor_required(user) else None
    page.goto("/sign-in/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    if device is not None and "/sign-in/code/" in page.url:
        page.get_by_label("Security code").fill(totp_code(device))
        page.get_by_role("button", name="Continue").click()


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@pytest.fixture
def check_page() -> Callable[[Page, str], None]:
    """Screenshot the page as test-artefacts/screenshots/<name>.png, then run axe-core on it
    and fail on any serious or critical violation (the full report is kept beside it)."""

    def check(page: Page, name: str) -> None:
        page.wait_for_load_state("load")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        slug = _slug(name)
        page.screenshot(path=SCREENSHOTS / f"{slug}.png", full_page=True)
        page.add_script_tag(path=str(AXE_SCRIPT))
        result = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
        )
        axe_dir = ARTEFACTS / "axe"
        axe_dir.mkdir(parents=True, exist_ok=True)
        (axe_dir / f"{slug}.json").write_text(json.dumps(result["violations"], indent=2))
        blocking = [v for v in result["violations"] if v["impact"] in BLOCKING_IMPACTS]
        assert not blocking, f"axe found on {name} ({page.url}):\n" + "\n".join(
            f"- {v['impact']} {v['id']}: {v['help']} ({len(v['nodes'])} nodes, e.g. "
            f"{v['nodes'][0]['target']})"
            for v in blocking
        )

    return check


__all__ = ["expect", "sign_in"]
