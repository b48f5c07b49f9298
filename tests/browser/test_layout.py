"""Every main page at desktop (1280 px) and phone (390 px) widths: the page never scrolls
sideways (wide tables scroll inside their own region), a screenshot of each, and axe-core finds
no serious or critical violation. One browser context per width walks all the pages, signed in
as each persona in turn (a session cookie, not the sign-in form, which other tests cover)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from accounts.models import User
from accounts.services import api_token_create
from reference.loaders import SAMPLE_DIR
from reference.models import Site
from submissions.cycle.timetable import add_months
from submissions.engine import ReferenceSnapshot, generate_file
from submissions.models import Submission
from submissions.services import submission_create

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}

# The pages with the widest tables (the rules page, long and covered elsewhere, is left out).
PROVIDER_PAGES = ["/provider/", "/submissions/", "/provider/api-tokens/"]
NATIONAL_PAGES = [
    "/national/compliance/",
    "/national/quality/",
    "/national/statistics/",
    "/national/timetable/",
]
ADMIN_PAGES = [
    "/admin/reference/site/",
    "/admin/reference/code/?q=modality",
    "/admin/reference/site/RR813/change/",
    "/admin/reference/site/RR813/history/",
    "/admin/reference/site/import/",
    "/admin/reference/site/export/",
]


@pytest.fixture
def sent_file(submitter: User, tmp_path: Path) -> Submission:
    month = add_months(timezone.localdate().replace(day=1), -1)
    path = tmp_path / "rr8.csv"
    generate_file(
        path,
        rows=40,
        org="RR8",
        month=month,
        dataset_version="2.0",
        reference=ReferenceSnapshot.from_directory(SAMPLE_DIR),
        seed=5,
    )
    with path.open("rb") as handle:
        submission, _ = submission_create(
            actor=submitter,
            organisation_code="RR8",
            activity_month=month,
            upload=handle,
            original_name=path.name,
        )
    return submission


def session_cookie(user: User, url: str) -> dict[str, str]:
    client = Client()
    client.force_login(user)  # completes the second factor (tests/conftest.py)
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": url,
    }


def walk(
    page: Page, check_page: Callable[[Page, str], None], width: str, paths: list[str]
) -> list[str]:
    """Visit each page; return what is wrong with each instead of stopping at the first."""
    problems = []
    for path in paths:
        response = page.goto(path)
        if response is None or response.status != 200:
            problems.append(f"{path}: HTTP {response.status if response else 'none'}")
            continue
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 1:
            problems.append(f"{path}: scrolls sideways by {overflow} px at {width}")
        try:
            name = re.sub(r"/\d+/", "/detail/", path).strip("/").replace("/", "-")
            check_page(page, f"layout-{name}-{width}")
        except AssertionError as error:
            problems.append(str(error))
    return problems


def import_a_bad_file(page: Page, check_page: Callable[[Page, str], None], width: str) -> list[str]:
    """The reference admin (signed in last) imports a file with a bad date: the problem is
    named by row and column, and the page with it fits and passes axe too."""
    page.goto("/admin/reference/site/import/")
    page.get_by_label("File to import").set_input_files(
        {
            "name": "sites.csv",
            "mimeType": "text/csv",
            "buffer": b"code,name,organisation,opened,closed\nRR8A1,Leeds CDC,RR8,2024-13-45,\n",
        }
    )
    page.get_by_label("Format").select_option("csv")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_test_id("import-problems")).to_contain_text(
        "Row 1 (line 2 of the file), column “opened”: “2024-13-45” is not a date"
    )
    problems = []
    if page.evaluate("document.documentElement.scrollWidth - window.innerWidth") > 1:
        problems.append(f"the import problems page scrolls sideways at {width}")
    try:
        check_page(page, f"layout-admin-import-problems-{width}")
    except AssertionError as error:
        problems.append(str(error))
    return problems


@pytest.mark.parametrize("width", WIDTHS)
def test_main_pages_fit_the_screen_and_pass_axe(
    width: str,
    browser: Browser,
    live_server,
    transactional_db: None,
    check_page,
    submitter: User,
    analyst: User,
    reference_admin: User,
    sent_file: Submission,
) -> None:
    api_token_create(actor=submitter, organisation_code="RR8", name="Leeds RIS")
    site = Site.objects.get(code="RR813")
    site._change_reason = "Renamed by the trust"
    site.name = "Leeds General"
    site.save()
    context = browser.new_context(
        base_url=live_server.url, viewport=WIDTHS[width], locale="en-GB", bypass_csp=True
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems = []
    try:
        for user, paths in (
            (submitter, [*PROVIDER_PAGES, f"/submissions/{sent_file.pk}/"]),
            (analyst, NATIONAL_PAGES),
            (reference_admin, ADMIN_PAGES),
        ):
            context.clear_cookies()
            context.add_cookies([session_cookie(user, live_server.url)])
            problems += walk(page, check_page, width, paths)
        problems += import_a_bad_file(page, check_page, width)
    finally:
        context.close()
    assert not problems, "\n".join(problems)
