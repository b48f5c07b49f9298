"""The national month in headless Chromium: a national analyst changes a deadline, runs a due
cut-off and opens its manifest, makes an extract and downloads it, and grants and ends a
reopening. Each page is screenshotted at desktop and phone width and checked with axe-core."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import User
from reference.loaders import SAMPLE_DIR
from submissions.cycle.timetable import default_deadlines
from submissions.engine import ReferenceSnapshot, generate_file
from submissions.models import CutOff, Extract, PeriodReopening, ReportingPeriod
from tests.browser.conftest import sign_in
from tests.submissions.conftest import AS_OF, MONTH
from tests.submissions.cycle_helpers import submit_at

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def june_file(submitter: User, tmp_path: Path):
    """RR8's accepted June file, received before the provisional deadline (which has passed
    on the suite's clock; the final one has not)."""
    path = tmp_path / "june.csv"
    generate_file(path, rows=40, org="RR8", month=MONTH, dataset_version="2.0",
                  reference=ReferenceSnapshot.from_directory(SAMPLE_DIR), seed=5)
    return submit_at(submitter, path, AS_OF)


@pytest.fixture
def check_both(check_page) -> Callable[[Page, str], None]:
    """Check a page at desktop width, then at phone width, then go back to desktop."""

    def check(page: Page, name: str) -> None:
        check_page(page, f"{name}-desktop")
        page.set_viewport_size(PHONE)
        check_page(page, f"{name}-phone")
        page.set_viewport_size(DESKTOP)

    return check


def test_analyst_changes_a_deadline(page: Page, check_both, analyst: User, june_file) -> None:
    sign_in(page, analyst)
    page.get_by_role("link", name="Timetable").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Timetable")
    expect(page.get_by_test_id("timetable-2026-06")).to_contain_text("Open")
    check_both(page, "national-timetable")

    page.get_by_role("link", name="Change the deadlines of June 2026").click()
    page.get_by_role("button", name="Save the deadlines").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Enter the reason for the change")
    check_both(page, "national-deadline-error")
    page.get_by_label("Final deadline (window close)").fill("2027-01-08T23:59:59")
    page.get_by_label("Reason for the change").fill("Extended after a RIS outage")
    page.get_by_role("button", name="Save the deadlines").click()
    expect(page.locator(".nhsuk-notification-banner")).to_contain_text(
        "The deadlines of June 2026 were changed.")
    expect(page.get_by_test_id("timetable-2026-06")).to_contain_text("8 Jan 2027 23:59:59")
    final = ReportingPeriod.objects.get(activity_month=MONTH).final_deadline
    assert timezone.localtime(final).strftime("%Y-%m-%d %H:%M:%S") == "2027-01-08 23:59:59"


def test_analyst_runs_a_due_cutoff_opens_its_manifest_and_makes_an_extract(
        page: Page, check_both, analyst: User, june_file, settings) -> None:
    settings.DIDS_PSEUDONYM_KEY = "a-demo-key-of-at-least-32-characters!"
    sign_in(page, analyst)
    page.goto("/national/cutoffs/")
    overdue = page.get_by_test_id("cutoffs-overdue")
    expect(overdue).to_contain_text("June 2026, provisional")
    check_both(page, "national-cutoffs")

    overdue.get_by_role("link", name="June 2026, provisional").click()
    page.get_by_role("button", name="Run the provisional cut-off").click()
    expect(page.locator(".nhsuk-notification-banner")).to_contain_text("took 40 records")
    cutoff = CutOff.objects.get()
    expect(page.get_by_test_id("cutoff-checksum")).to_have_text(cutoff.records_checksum)
    expect(page.get_by_test_id("manifest-RR8")).to_contain_text(june_file.sha256)
    check_both(page, "national-cutoff-manifest")

    page.get_by_role("link", name="Make an extract of this cut-off").click()
    expect(page.get_by_label("Cut-off")).to_have_value("2026-06/provisional")
    page.get_by_label("CSV").check()
    page.get_by_role("button", name="Make the extract").click()
    extract = Extract.objects.get()
    row = page.get_by_test_id(f"extract-{extract.pk}")
    expect(row).to_contain_text("Done")
    check_both(page, "national-extracts")
    with page.expect_download() as download:
        row.get_by_role("link", name=re.compile("Download")).click()
    assert download.value.suggested_filename == "dids-extract-2026-06-provisional.csv"
    assert "nhs_number_pseudonym" in Path(download.value.path()).read_text().splitlines()[0]


def test_analyst_grants_and_ends_a_reopening(page: Page, check_both, analyst: User,
                                              june_file) -> None:
    sign_in(page, analyst)
    page.goto("/national/reopenings/")
    expect(page.get_by_test_id("no-current-reopenings")).to_be_visible()
    page.get_by_label("Organisation").select_option("RR8")
    page.get_by_label("Activity month").select_option("2026-06")
    page.get_by_label("Reason").fill("Corrected file after an audit finding")
    until = timezone.localtime(timezone.now() + timedelta(days=5))
    page.get_by_label("Open until").fill(until.strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_role("button", name="Reopen the month").click()
    expect(page.locator(".nhsuk-notification-banner")).to_contain_text("RR8 can submit for June 2026")
    reopening = PeriodReopening.objects.get()
    current = page.get_by_test_id("current-reopenings")
    expect(current).to_contain_text("Corrected file after an audit finding")
    check_both(page, "national-reopenings")

    current.get_by_label("Why it ends early").fill("The corrected file has arrived")
    current.get_by_role("button", name=re.compile("End now")).click()
    expect(page.get_by_test_id("past-reopenings")).to_contain_text("Ended early")
    reopening.refresh_from_db()
    assert reopening.ended_by == analyst
    assert default_deadlines(MONTH).final > timezone.now()  # the month itself stays open
