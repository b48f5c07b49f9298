"""The page comparing two versions in headless Chromium: a provider reads the counts and the
table, filters to the changed records and pages through the added ones, at desktop and phone
widths, with axe-core on each and no sideways scrolling of the page on a phone."""

from __future__ import annotations

from datetime import datetime

from playwright.sync_api import Page, expect

from accounts.models import User
from reference.models import Organisation
from submissions.cycle.timetable import LONDON
from tests.browser.conftest import sign_in
from tests.submissions.diff_helpers import record, version

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def test_provider_reads_filters_and_pages_the_difference_between_two_versions(
    page: Page, check_page, submitter: User, rr8: Organisation
) -> None:
    version(rr8, 1, [record("ACC0001"), record("ACC0002"), record("ACC0003")])
    version(
        rr8,
        2,
        [
            record(
                "ACC0001",
                nicip_code="CCHAB",
                nhs_number="9434765919",
                procedure_end=datetime(2026, 6, 3, 10, 45, tzinfo=LONDON),
            ),
            record("ACC0002"),
            *[record(f"NEW{i:04d}", modality="MRI") for i in range(55)],
        ],
    )
    sign_in(page, submitter)
    page.goto("/submissions/2026-06/diff/?from=1&to=2")
    expect(page.get_by_test_id("diff-added")).to_have_text("55")
    expect(page.get_by_test_id("diff-removed")).to_have_text("1")
    expect(page.get_by_test_id("diff-changed")).to_have_text("1")
    expect(page.get_by_test_id("diff-modalities")).to_contain_text("MRI")
    expect(page.get_by_test_id("diff-row")).to_have_count(50)
    expect(page.get_by_test_id("diff-table")).not_to_contain_text("9434765919")
    check_page(page, "version-diff-desktop")
    page.set_viewport_size(PHONE)
    check_page(page, "version-diff-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size(DESKTOP)

    page.get_by_label("Show").select_option("changed")
    page.get_by_role("button", name="Show records").click()
    rows = page.get_by_test_id("diff-row")
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_test_id("diff-item")).to_have_text(
        ["NHS number", "Coded procedure end timestamp", "NICIP code"]
    )
    expect(rows.first).to_contain_text("*******919")
    check_page(page, "version-diff-changed-desktop")

    page.get_by_label("Show").select_option("added")
    page.get_by_role("button", name="Show records").click()
    page.get_by_role("link", name="Next").click()
    expect(page.get_by_test_id("diff-range")).to_contain_text("Showing 51 to 55 of 55")
    expect(page.get_by_test_id("diff-row")).to_have_count(5)
    page.set_viewport_size(PHONE)
    check_page(page, "version-diff-added-page-2-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
