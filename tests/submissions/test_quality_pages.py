"""The pages that show a version's data-quality score and plausibility notices: the result
page, the national data-quality page and the rules page."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from submissions.choices import SubmissionStatus
from submissions.models import Submission
from tests.submissions.cycle_helpers import hand_file, submit_at

LONDON = ZoneInfo("Europe/London")
WHEN = datetime(2026, 6, 20, 12, 0, tzinfo=LONDON)
NOTICE = "CT at RR815: 60 records, 70% below your 6-month median of 200"


def live_month(
    month: date,
    *,
    org: str = "RR8",
    score: float | None = None,
    notices: list | None = None,
    counts: dict | None = None,
) -> Submission:
    at = datetime(month.year, month.month, 20, 12, tzinfo=LONDON)
    return Submission.objects.create(
        organisation_id=org,
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
        rows=1,
        accepted_rows=1,
        record_counts=counts or {},
        quality_score=score,
        plausibility=notices or [],
    )


@pytest.fixture
def june(submitter, tmp_path) -> Submission:
    """June's version, processed, with 3 months of history (May scored 91.7)."""
    live_month(date(2026, 3, 1), counts={"CT": {"RR815": 200}})
    live_month(date(2026, 4, 1), counts={"CT": {"RR815": 200}})
    live_month(date(2026, 5, 1), counts={"CT": {"RR815": 200}}, score=91.7)
    rows = [{"modality": "CT", "request": 3, "report": 1}] * 60
    return submit_at(submitter, hand_file(tmp_path / "ct.csv", rows), WHEN)


# The result page ------------------------------------------------------------------------------


def test_the_result_page_shows_the_plausibility_notice_and_says_nothing_was_rejected(
    client_for, submitter, june
):
    html = client_for(submitter).get(reverse("submissions:detail", args=[june.pk])).content.decode()
    assert 'data-testid="plausibility"' in html
    assert NOTICE in html
    assert "a notice never rejects anything" in html


def test_the_result_page_shows_the_score_line_of_file_month_and_last_month(
    client_for, submitter, june
):
    response = client_for(submitter).get(reverse("submissions:detail", args=[june.pk]))
    score = f"{june.quality_score:.1f}"
    line = response.context["score_line"]
    assert (line.file, line.month_if_accepted, line.last_month) == (
        june.quality_score,
        june.quality_score,
        91.7,
    )
    html = " ".join(response.content.decode().split())
    assert (
        f"Your file: <strong>{score}</strong>; your month if this file is accepted: "
        f"<strong>{score}</strong>; last month: <strong>91.7</strong>"
    ) in html


def test_the_result_page_has_a_row_per_scored_item(client_for, submitter, june):
    response = client_for(submitter).get(reverse("submissions:detail", args=[june.pk]))
    rows = response.context["quality_rows"]
    assert len(rows) == 13
    gender = next(r for r in rows if r["key"] == "gender")
    assert gender["present"] == 100.0 and gender["share"] == june.quality["gender"]["share"]
    assert 'data-testid="quality-gender"' in response.content.decode()


def test_an_older_version_says_which_version_is_live_now(client_for, submitter, june, tmp_path):
    newer = submit_at(
        submitter,
        hand_file(
            tmp_path / "ct2.csv", [{"modality": "CT", "request": 3, "report": 1}] * 3, prefix="NEW"
        ),
        WHEN,
    )
    assert newer.is_live
    line = (
        client_for(submitter)
        .get(reverse("submissions:detail", args=[june.pk]))
        .context["score_line"]
    )
    assert (line.month_now, line.month_now_version) == (newer.quality_score, newer.version)


def test_the_result_page_of_a_rejected_file_shows_no_score(client_for, submitter, bad_file):
    rejected = submit_at(submitter, bad_file, WHEN)
    html = (
        client_for(submitter)
        .get(reverse("submissions:detail", args=[rejected.pk]))
        .content.decode()
    )
    assert 'data-testid="score-line"' not in html and 'data-testid="plausibility"' not in html


def test_another_provider_gets_404_for_the_result_page(client_for, other_provider_user, june):
    response = client_for(other_provider_user).get(reverse("submissions:detail", args=[june.pk]))
    assert response.status_code == 404


# The national data-quality page ---------------------------------------------------------------


@pytest.fixture
def july():
    with time_machine.travel(datetime(2026, 7, 15, 12, tzinfo=LONDON), tick=True):
        yield


def test_the_national_page_shows_scores_trend_peer_median_and_notices(
    client_for, analyst, sample_reference, july
):
    notice = {
        "modality": "CT",
        "site": "RR801",
        "records": 412,
        "median": 790.0,
        "change_percent": -47.8,
        "direction": "below",
        "history_versions": 6,
        "message": "CT at RR801: 412 records, 48% below your 6-month median of 790",
    }
    live_month(date(2026, 5, 1), score=90.0)
    june = live_month(date(2026, 6, 1), score=94.1, notices=[notice])
    live_month(date(2026, 6, 1), org="RJ1", score=80.0)
    live_month(date(2026, 6, 1), org="RXH", score=70.0)
    response = client_for(analyst).get(reverse("national:quality"))
    context = response.context
    june_index = context["months"].index(date(2026, 6, 1))
    rr8 = next(r for r in context["dq_rows"] if r["code"] == "RR8")
    assert rr8["latest"] == 94.1 and rr8["trend"]
    assert context["peer_medians"][june_index] == 80.0
    assert context["peer_medians"][context["months"].index(date(2026, 5, 1))] == 90.0
    html = response.content.decode()
    assert 'data-testid="dq-RR8"' in html and 'data-testid="dq-peer-median"' in html
    assert notice["message"] in html
    assert reverse("submissions:detail", args=[june.pk]) in html


def test_the_national_page_says_when_no_live_file_has_a_notice(
    client_for, analyst, sample_reference, july
):
    live_month(date(2026, 6, 1), score=94.1)
    html = client_for(analyst).get(reverse("national:quality")).content.decode()
    assert 'data-testid="dq-no-notices"' in html


def test_the_national_page_reads_the_scores_in_a_fixed_number_of_queries(
    client_for, analyst, sample_reference, july, django_assert_max_num_queries
):
    for org in ("RR8", "RJ1", "RXH"):
        for month in (date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)):
            live_month(month, org=org, score=90.0)
    client = client_for(analyst)
    client.get(reverse("national:quality"))
    with django_assert_max_num_queries(25):
        client.get(reverse("national:quality"))


# The rules page -------------------------------------------------------------------------------


def test_the_rules_page_defines_the_score_and_plausibility(client, db):
    html = client.get(reverse("submissions:rules")).content.decode()
    assert 'id="quality"' in html and 'id="plausibility"' in html
    assert "present</strong>, <strong>valid</strong>" in " ".join(html.split())
    assert "V81999 (not known), V81998 (not applicable)" in html
    flat = " ".join(html.split())
    assert "more than 30% below the median or more than 50% above it" in flat
    assert "at least 50 records" in flat
