"""The national reports in headless Chromium: the analyst downloads the compliance register
and the list of who still owes last month, and picks a month on the statistics page. Each page
is screenshotted and checked with axe-core at desktop and phone widths."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import User
from reference.loaders import SAMPLE_DIR
from submissions.cycle.services import period_cut_off, period_ensure
from submissions.cycle.timetable import add_months
from submissions.engine import ReferenceSnapshot, generate_file
from submissions.models import Reminder
from submissions.services import submission_create
from tests.browser.conftest import sign_in

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def month() -> date:
    """Last month: over, so due from whoever has sent nothing."""
    return add_months(timezone.localdate().replace(day=1), -1)


@pytest.fixture
def rr8_sent_last_month(submitter: User, tmp_path: Path, month: date) -> None:
    path = tmp_path / "rr8.csv"
    generate_file(path, rows=40, org="RR8", month=month, dataset_version="2.0",
                  reference=ReferenceSnapshot.from_directory(SAMPLE_DIR), seed=5)
    with path.open("rb") as handle:
        submission_create(actor=submitter, organisation_code="RR8", activity_month=month,
                          upload=handle, original_name=path.name)


def check_widths(page: Page, check_page, name: str) -> None:
    """Screenshot and axe-check the page at desktop and phone widths; on a phone only the
    wide tables scroll sideways, never the page."""
    check_page(page, f"{name}-desktop")
    page.set_viewport_size(PHONE)
    check_page(page, f"{name}-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size(DESKTOP)


def downloaded_rows(page: Page, link_name: str | re.Pattern[str]) -> tuple[str, list[dict]]:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).click()
    download = info.value
    text = Path(download.path()).read_text(encoding="utf-8")
    return download.suggested_filename, list(csv.DictReader(io.StringIO(text)))


def test_analyst_downloads_the_register_and_who_still_owes_last_month(
    page: Page, check_page, analyst: User, other_provider_user: User, rr8_sent_last_month,
    month: date
) -> None:
    Reminder.objects.create(period=period_ensure(month=month), kind="provisional",
                            organisation_id="RCD", recipients=1,
                            sent_at=timezone.now() - timedelta(days=2))
    sign_in(page, analyst)
    page.goto("/national/compliance/")
    owing = page.get_by_test_id("owing")
    expect(page.get_by_role("heading", name=f"Who still owes {month:%B %Y}")).to_be_visible()
    expect(owing.get_by_test_id("owing-RCD")).to_contain_text("submitter@rcd.example.nhs.uk")
    expect(owing.get_by_test_id("owing-RCD")).not_to_contain_text("None sent")
    expect(owing.get_by_test_id("owing-RR8")).to_have_count(0)
    check_widths(page, check_page, "compliance-who-owes")

    name, register = downloaded_rows(page, "Download the register (CSV)")
    assert name.startswith("dids-compliance-") and name.endswith(".csv")
    rr8 = next(r for r in register
               if r["organisation"] == "RR8" and r["month"] == f"{month:%Y-%m}")
    assert rr8["state"] == "on_time"

    name, chase = downloaded_rows(page, re.compile(r"Download who still owes"))
    assert name == f"dids-owing-{month:%Y-%m}.csv"
    rcd = next(r for r in chase if r["organisation"] == "RCD")
    assert rcd["emails"] == "submitter@rcd.example.nhs.uk"
    assert rcd["last_reminder_kind"] == "provisional"
    assert "RR8" not in {r["organisation"] for r in chase}


def test_analyst_picks_a_month_on_the_statistics_page(
    page: Page, check_page, analyst: User, rr8_sent_last_month, month: date
) -> None:
    earlier = add_months(month, -1)
    period_cut_off(actor=None, month=earlier, kind="provisional")  # took no records
    sign_in(page, analyst)
    page.goto("/national/statistics/")
    expect(page.get_by_role("heading", name=f"Waiting times, {month:%B %Y}")).to_be_visible()
    expect(page.get_by_test_id("waits-table")).to_be_visible()
    check_widths(page, check_page, "statistics-latest-month")

    page.get_by_label("Month", exact=True).select_option(f"{earlier:%Y-%m}")
    page.get_by_role("button", name="Show waiting times").click()
    expect(page).to_have_url(re.compile(rf"month={earlier:%Y-%m}"))
    expect(page.get_by_role("heading", name=f"Waiting times, {earlier:%B %Y}")).to_be_visible()
    expect(page.get_by_test_id("waits-none")).to_have_text(
        f"{earlier:%B %Y}: the provisional cut-off took no records.")
    expect(page.get_by_test_id(f"activity-{earlier:%Y-%m}")).to_contain_text(
        "The provisional cut-off took no records.")
    check_widths(page, check_page, "statistics-chosen-month")

    name, activity = downloaded_rows(page, re.compile(r"Download examinations by month"))
    assert name == "dids-activity-by-modality.csv"
    assert [r["month"] for r in activity] == [f"{earlier:%Y-%m}", f"{month:%Y-%m}"]
