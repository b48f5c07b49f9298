"""The findings list in headless Chromium: from a result with many findings a provider opens
every finding, follows a rule's count into its findings and pages through them with the filter
kept; the upload page's file picker is the design system's file upload. Each page is
screenshotted at 1280 and 390 pixels wide and checked with axe-core."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import User
from reference.loaders import SAMPLE_DIR
from submissions.cycle.timetable import add_months
from submissions.engine import ReferenceSnapshot, generate_file
from submissions.models import Finding, Submission
from submissions.services import submission_create
from tests.browser.conftest import sign_in

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
MODULUS_FINDINGS = 120  # DIDS001 findings added to the file's own: three pages of that rule


@pytest.fixture
def month() -> date:
    return add_months(timezone.localdate().replace(day=1), -1)


@pytest.fixture
def many_findings(submitter: User, tmp_path: Path, month: date) -> Submission:
    """A version of a file with errors, given 120 more mistyped NHS numbers (masked)."""
    path = tmp_path / "many-findings.csv"
    generate_file(
        path,
        rows=200,
        org="RR8",
        month=month,
        dataset_version="2.0",
        reference=ReferenceSnapshot.from_directory(SAMPLE_DIR),
        error_rate=0.2,
        seed=3,
    )
    with path.open("rb") as handle:
        submission, _ = submission_create(
            actor=submitter,
            organisation_code="RR8",
            activity_month=month,
            upload=handle,
            original_name=path.name,
        )
    submission.refresh_from_db()
    Finding.objects.bulk_create(
        Finding(
            submission=submission,
            line=line,
            item="nhs_number",
            rule="DIDS001",
            severity="reject",
            message="nhs_number '*******617' fails the modulus 11 check",
            value="*******617",
        )
        for line in range(2, 2 + MODULUS_FINDINGS)
    )
    counts = dict(submission.counts_by_rule or {})
    counts["DIDS001"] = counts.get("DIDS001", 0) + MODULUS_FINDINGS
    submission.counts_by_rule = counts
    submission.save(update_fields=["counts_by_rule"])
    return submission


def check_widths(page: Page, check_page, name: str) -> None:
    """Screenshot and axe-check at desktop and phone widths; the page never scrolls sideways."""
    check_page(page, f"{name}-desktop")
    page.set_viewport_size(PHONE)
    check_page(page, f"{name}-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size(DESKTOP)


def test_provider_follows_a_rules_count_into_its_findings_and_pages_through_them(
    page: Page, check_page, submitter: User, many_findings: Submission
) -> None:
    submission = many_findings
    total = sum(submission.counts_by_rule.values())
    modulus = submission.counts_by_rule["DIDS001"]
    sign_in(page, submitter)
    page.goto(f"/submissions/{submission.pk}/")
    expect(page.get_by_test_id("findings").locator("tbody tr")).to_have_count(10)
    page.get_by_test_id("all-findings").click()

    expect(page).to_have_url(re.compile(rf"/submissions/{submission.pk}/findings/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Findings of")
    expect(page.get_by_test_id("showing")).to_contain_text(f"Showing 1 to 50 of {total:,} findings")
    expect(page.get_by_test_id("rule-DIDS001")).to_contain_text("Record rejected")
    check_widths(page, check_page, "findings-list")

    page.get_by_test_id("rule-link-DIDS001").click()
    expect(page).to_have_url(re.compile(r"\?rule=DIDS001#findings-heading$"))
    expect(page.get_by_test_id("showing")).to_contain_text(
        f"Showing 1 to 50 of {modulus} findings of rule DIDS001"
    )
    rules_column = page.get_by_test_id("findings").locator("tbody tr td:nth-child(3)")
    expect(rules_column).to_have_count(50)
    assert {text.removeprefix("Rule ").strip() for text in rules_column.all_inner_texts()} == {
        "DIDS001"
    }
    expect(page.get_by_test_id("findings")).not_to_contain_text("4857302617")

    page.get_by_test_id("pagination").get_by_role("link", name=re.compile("Next")).click()
    expect(page).to_have_url(re.compile(r"\?rule=DIDS001&page=2#findings-heading$"))
    expect(page.get_by_test_id("showing")).to_contain_text(f"Showing 51 to 100 of {modulus}")
    expect(page.get_by_role("link", name="Page 2")).to_have_attribute("aria-current", "page")
    check_widths(page, check_page, "findings-rule-page-2")

    page.get_by_label("Outcome").select_option("reject")
    page.get_by_role("button", name="Filter findings").click()
    expect(page).to_have_url(re.compile(r"\?rule=DIDS001&severity=reject&item=#findings-heading$"))
    expect(page.get_by_test_id("showing")).to_contain_text(f"Showing 1 to 50 of {modulus}")


def test_upload_page_file_picker_is_the_design_systems_file_upload(
    page: Page, check_page, submitter: User, tmp_path: Path
) -> None:
    sign_in(page, submitter)
    page.goto("/submissions/upload/")
    # The component's script has replaced the bare input with its drop zone and button.
    drop = page.locator(".nhsuk-file-upload__drop-button")
    expect(drop).to_be_visible()
    expect(drop).to_contain_text("Choose file")
    check_widths(page, check_page, "upload-file-picker")
    chosen = tmp_path / "june.csv"
    chosen.write_text("nhs_number\n", encoding="utf-8")
    page.locator("input[type=file][name=file]").set_input_files(str(chosen))
    expect(drop).to_contain_text("june.csv")
    check_widths(page, check_page, "upload-file-chosen")
