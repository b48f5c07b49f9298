"""The submission and national pages in headless Chromium: a provider uploads a file with
errors, watches it finish, reads the findings, downloads the report, checks and resubmits a
clean file and sees it live; a national analyst sees the compliance matrix change. Each page
is screenshotted and checked with axe-core."""

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
from submissions.models import Submission
from submissions.services import submission_create, submission_process
from tests.browser.conftest import SCREENSHOTS, sign_in


@pytest.fixture(scope="module")
def snapshot() -> ReferenceSnapshot:
    return ReferenceSnapshot.from_directory(SAMPLE_DIR)


@pytest.fixture
def month() -> date:
    """Last month: due now, and clean generated files stay clean when judged today."""
    return add_months(timezone.localdate().replace(day=1), -1)


@pytest.fixture
def dids_file(tmp_path: Path, snapshot: ReferenceSnapshot, month: date):
    def make(name: str, *, error_rate: float = 0.0, seed: int = 1, rows: int = 60) -> Path:
        path = tmp_path / name
        generate_file(path, rows=rows, org="RR8", month=month, dataset_version="2.0",
                      reference=snapshot, error_rate=error_rate, seed=seed)
        return path

    return make


def _upload(page: Page, path: Path, month: date, *, button: str = "Submit file") -> None:
    page.get_by_label("Activity month").select_option(f"{month:%Y-%m}")
    # The file upload component hides the input behind its "Choose file" drop zone.
    page.locator("input[type=file][name=file]").set_input_files(str(path))
    page.get_by_role("button", name=button).click()


def test_provider_uploads_reads_findings_downloads_and_resubmits(
    page: Page, check_page, submitter: User, dids_file, month: date
) -> None:
    sign_in(page, submitter)
    expect(page).to_have_url(re.compile(r"/provider/$"))
    expect(page.get_by_test_id(f"month-{month:%Y-%m}")).to_contain_text("Due")
    expect(page.get_by_test_id("next-steps")).to_contain_text(f"{month:%B %Y}")
    check_page(page, "provider-home-months")

    page.get_by_role("button", name="Upload a file").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Upload a DIDS file")
    page.get_by_role("button", name="Submit file").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Select a DIDS file")
    check_page(page, "upload-error")

    # A file with errors: sent by the script with the upload progress bar, which then polls
    # the job through the API and opens the result when it is done.
    with page.expect_response(re.compile(r"/api/submissions/\d+/$")) as polled:
        _upload(page, dids_file("with-errors.csv", error_rate=0.2, seed=3), month)
    assert polled.value.status == 200
    expect(page).to_have_url(re.compile(r"/submissions/\d+/$"))
    expect(page.get_by_test_id("status")).to_have_text("Accepted with warnings")
    first = Submission.objects.get()
    expect(page.get_by_test_id("record-counts")).to_contain_text(
        f"{first.accepted_rows} accepted, {first.rejected_rows} rejected")
    rules = page.get_by_test_id("rule-counts")
    some_rule = next(iter(first.counts_by_rule))
    expect(rules.get_by_test_id(f"rule-{some_rule}")).to_contain_text(
        str(first.counts_by_rule[some_rule]))
    expect(rules.get_by_role("link", name=some_rule, exact=True)).to_have_attribute(
        "href", f"/rules/#{some_rule}")
    expect(rules.get_by_role("link", name=f"findings of rule {some_rule}")).to_have_attribute(
        "href", f"/submissions/{first.pk}/findings/?rule={some_rule}#findings-heading")
    findings = page.get_by_test_id("findings")
    expect(findings.locator("tbody tr").first).to_be_visible()
    check_page(page, "result-with-findings")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Findings (CSV)").click()
    report = Path(download_info.value.path()).read_text()
    assert report.splitlines()[0] == "line,item,rule,severity,message,value,expected"
    assert len(report.splitlines()) == 1 + first.findings.count()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Your file with a findings column (CSV)").click()
    assert "dids_findings" in Path(download_info.value.path()).read_text().splitlines()[0]

    # Check a clean file only: the same result layout, nothing stored.
    page.get_by_role("button", name="Upload a corrected file").click()
    expect(page.get_by_label("Activity month")).to_have_value(f"{month:%Y-%m}")
    clean = dids_file("clean.csv", seed=5)
    _upload(page, clean, month, button="Check only")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Check result: Accepted")
    expect(page.get_by_text("nothing has been sent or stored")).to_be_visible()
    assert Submission.objects.count() == 1
    check_page(page, "check-only-result")

    # Submit it: version 2 is accepted and live, and replaces version 1.
    _upload(page, clean, month)
    expect(page).to_have_url(re.compile(r"/submissions/\d+/$"))
    expect(page.get_by_test_id("status")).to_have_text("Accepted")
    expect(page.get_by_test_id("live")).to_have_text("Live")
    check_page(page, "result-accepted-live")

    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name=f"{month:%B %Y}").first.click()
    expect(page.get_by_test_id("version-2")).to_contain_text("Live")
    expect(page.get_by_test_id("version-1")).not_to_contain_text("Live")
    expect(page.get_by_test_id("version-2")).to_contain_text(submitter.email)
    check_page(page, "month-history")

    page.get_by_role("link", name="Compare with version 1").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("from version 1 to version 2")
    check_page(page, "version-diff")

    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Submissions").click()
    expect(page.get_by_test_id(f"month-{month:%Y-%m}")).to_contain_text("Received on time")
    expect(page.get_by_test_id(f"month-{month:%Y-%m}")).to_contain_text("Version 2")
    check_page(page, "submissions")


def test_result_page_follows_processing_without_javascript(
    page_without_javascript: Page, submitter: User, dids_file, month: date
) -> None:
    page = page_without_javascript
    path = dids_file("queued.csv")
    with path.open("rb") as handle:
        submission, _ = submission_create(actor=submitter, organisation_code="RR8",
                                          activity_month=month, upload=handle,
                                          original_name=path.name, enqueue=lambda pk: None)
    sign_in(page, submitter)
    page.goto(f"/submissions/{submission.pk}/")
    expect(page.get_by_test_id("processing")).to_contain_text("Waiting to be checked")
    expect(page.get_by_test_id("status")).to_have_text("Received")
    # A screenshot only: axe-core needs JavaScript, and the page reloads itself meanwhile.
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "result-processing.png", full_page=True)
    submission_process(submission_id=submission.pk)
    # The page's meta refresh brings the result without any script.
    expect(page.get_by_test_id("status")).to_have_text("Accepted", timeout=10_000)


def test_upload_without_javascript_posts_and_shows_the_result(
    page_without_javascript: Page, submitter: User, dids_file, month: date
) -> None:
    page = page_without_javascript
    sign_in(page, submitter)
    page.goto("/submissions/upload/")
    _upload(page, dids_file("plain.csv"), month)
    expect(page).to_have_url(re.compile(r"/submissions/\d+/$"))
    expect(page.get_by_test_id("status")).to_have_text("Accepted")


def test_analyst_sees_the_compliance_matrix_change(
    page: Page, check_page, analyst: User, submitter: User, dids_file, month: date
) -> None:
    sign_in(page, analyst)
    expect(page).to_have_url(re.compile(r"/national/$"))
    check_page(page, "national-overview")
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Compliance").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Compliance by provider and month")
    column = page.get_by_test_id("compliance-matrix").locator("thead th").all_inner_texts()
    index = column.index(f"{month:%b %Y}")
    cell = page.get_by_test_id("compliance-RR8").locator("th, td").nth(index)
    expect(cell).to_have_text("Due")
    check_page(page, "compliance")

    path = dids_file("national.csv", error_rate=0.1, seed=7)
    with path.open("rb") as handle:
        submission_create(actor=submitter, organisation_code="RR8", activity_month=month,
                          upload=handle, original_name=path.name)
    page.reload()
    expect(cell).to_contain_text("Received on time")
    expect(cell.get_by_role("link")).to_contain_text("v1")

    page.get_by_label("Type of provider").select_option(label="NHS trust")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"type=nhs_trust"))
    check_page(page, "compliance-filtered")

    page.goto("/national/quality/")
    expect(page.get_by_test_id("quality-RR8")).to_contain_text("%")
    check_page(page, "quality")

    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Statistics").click()
    expect(page.get_by_test_id("activity-table")).to_contain_text(f"{month:%b %Y}")
    expect(page.get_by_test_id("waits-table")).to_be_visible()
    check_page(page, "statistics")

    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Audit").click()
    expect(page.get_by_test_id("submissions")).to_contain_text(submitter.email)
    check_page(page, "audit")
    page.get_by_test_id("submissions").get_by_role("link", name=re.compile("v1")).click()
    expect(page.get_by_test_id("status")).to_have_text("Accepted with warnings")
    check_page(page, "result-national-view")


def test_reference_admin_lands_on_the_branded_admin(page: Page, reference_admin: User) -> None:
    sign_in(page, reference_admin)
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("#site-name")).to_contain_text("DIDS Portal administration")
    page.get_by_role("link", name="Organisations").first.click()
    expect(page.get_by_role("link", name=re.compile("Import"))).to_be_visible()
    # A screenshot only: the Django admin's own markup is Django's, not checked by axe here.
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "admin-organisations.png", full_page=True)
