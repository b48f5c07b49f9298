"""The data-quality score and plausibility notices in headless Chromium: the provider's result
page and the national data-quality page, at desktop and phone widths, checked with axe-core."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from submissions.choices import SubmissionStatus
from submissions.models import Submission
from tests.browser.conftest import sign_in
from tests.submissions.conftest import AS_OF
from tests.submissions.cycle_helpers import hand_file, submit_at

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
NOTICE = "CT at RR815: 59 records, 70% below your 6-month median of 200"


@pytest.fixture
def check_both(check_page) -> Callable[[Page, str], None]:
    def check(page: Page, name: str) -> None:
        page.set_viewport_size(DESKTOP)
        check_page(page, f"{name}-desktop")
        page.set_viewport_size(PHONE)
        check_page(page, f"{name}-phone")
        page.set_viewport_size(DESKTOP)

    return check


@pytest.fixture
def june(submitter: User, tmp_path: Path) -> Submission:
    """RR8's June file of 60 CT records at RR815, after three months of 200 (May scored 91.7)."""
    for month, score in (
        (date(2026, 3, 1), None),
        (date(2026, 4, 1), None),
        (date(2026, 5, 1), 91.7),
    ):
        at = (
            AS_OF.replace(year=month.year, month=month.month + 1, day=2)
            if month.month < 12
            else AS_OF
        )
        Submission.objects.create(
            organisation_id="RR8",
            activity_month=month,
            version=1,
            is_live=True,
            status=SubmissionStatus.ACCEPTED,
            file="none",
            original_name="f.csv",
            size_bytes=1,
            sha256="0" * 64,
            received_at=at,
            as_of=at,
            rows=200,
            accepted_rows=200,
            record_counts={"CT": {"RR815": 200}},
            quality_score=score,
        )
    rows = [{"modality": "CT", "request": 3, "report": 1}] * 60
    rows[0] = {**rows[0], "source": "99"}  # one invalid patient source setting: rejected
    return submit_at(
        submitter,
        hand_file(tmp_path / "june.csv", rows),
        datetime(2026, 6, 25, 12, tzinfo=AS_OF.tzinfo),
    )


def test_provider_sees_notices_and_the_score_by_item(
    page: Page, check_both, submitter: User, june: Submission
) -> None:
    sign_in(page, submitter)
    page.goto(f"/submissions/{june.pk}/")
    expect(page.get_by_test_id("plausibility")).to_contain_text(NOTICE)
    expect(page.get_by_test_id("score-line")).to_contain_text(
        f"Your file: {june.quality_score:.1f}"
    )
    expect(page.get_by_test_id("score-line")).to_contain_text("last month: 91.7")
    expect(page.get_by_test_id("quality-patient_source_setting")).to_contain_text(
        f"{june.quality['patient_source_setting']['share']:.1f}"
    )
    check_both(page, "result-quality-plausibility")


def test_analyst_sees_scores_peer_median_and_notices(
    page: Page, check_both, analyst: User, june: Submission
) -> None:
    sign_in(page, analyst)
    page.goto("/national/quality/")
    expect(page.get_by_test_id("dq-RR8")).to_contain_text(f"{june.quality_score:.1f}")
    expect(page.get_by_test_id("dq-peer-median")).to_contain_text(f"{june.quality_score:.1f}")
    expect(page.get_by_test_id("dq-notices")).to_contain_text(NOTICE)
    check_both(page, "national-quality-score")
