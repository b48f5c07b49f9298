"""Quality and plausibility stored with a version while it is processed."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings

from submissions.choices import SubmissionStatus
from submissions.models import Submission
from submissions.plausibility import Thresholds, history_months, notices
from tests.submissions.cycle_helpers import hand_file, submit_at

LONDON = ZoneInfo("Europe/London")
WHEN = datetime(2026, 6, 20, 12, 0, tzinfo=LONDON)
DEFAULT = Thresholds(below=0.30, above=0.50, min_records=50)


def history(*counts: int, modality: str = "CT", site: str = "RR801") -> list[dict]:
    return [{modality: {site: n}} for n in counts]


# The rule, by hand ------------------------------------------------------------------------------


def test_a_drop_of_more_than_30_percent_is_a_notice_with_the_issue_wording():
    found = notices({"CT": {"RR801": 412}}, history(790, 700, 800, 790, 900), DEFAULT)
    assert [n["message"] for n in found] == [
        "CT at RR801: 412 records, 48% below your 6-month median of 790"
    ]
    assert found[0] | {"message": ""} == {
        "modality": "CT",
        "site": "RR801",
        "records": 412,
        "median": 790.0,
        "change_percent": -47.8,
        "direction": "below",
        "history_versions": 5,
        "message": "",
    }


def test_a_drop_of_exactly_30_percent_is_not_a_notice():
    assert notices({"CT": {"RR801": 700}}, history(1000, 1000, 1000), DEFAULT) == []
    assert len(notices({"CT": {"RR801": 699}}, history(1000, 1000, 1000), DEFAULT)) == 1


def test_a_rise_of_more_than_50_percent_is_a_notice_and_of_50_is_not():
    assert (
        notices(
            {"MRI": {"RR813": 300}}, history(200, 200, 200, modality="MRI", site="RR813"), DEFAULT
        )
        == []
    )
    found = notices(
        {"MRI": {"RR813": 301}}, history(200, 200, 200, modality="MRI", site="RR813"), DEFAULT
    )
    assert found[0]["message"] == "MRI at RR813: 301 records, 50% above your 6-month median of 200"


def test_a_movement_of_fewer_than_50_records_is_not_a_notice():
    assert notices({"CT": {"RR801": 21}}, history(70, 70, 70), DEFAULT) == []
    assert len(notices({"CT": {"RR801": 20}}, history(70, 70, 70), DEFAULT)) == 1


def test_fewer_than_three_months_of_history_give_no_notice():
    assert notices({"CT": {"RR801": 0}}, history(1000, 1000), DEFAULT) == []


def test_a_modality_missing_from_the_file_counts_zero_and_one_new_has_no_median():
    found = notices({"US": {"RR801": 80}}, history(500, 500, 500), DEFAULT)
    assert [n["message"] for n in found] == [
        "CT at RR801: 0 records, 100% below your 6-month median of 500",
        "Ultrasound at RR801: 80 records, none in your 6-month median",
    ]


def test_the_history_is_the_six_months_before():
    assert history_months(date(2026, 6, 1)) == (date(2025, 12, 1), date(2026, 5, 1))
    assert history_months(date(2026, 1, 1)) == (date(2025, 7, 1), date(2025, 12, 1))


# During processing ------------------------------------------------------------------------------


def live_month(month: date, counts: dict, number: int = 1) -> Submission:
    at = datetime(month.year, month.month, 20, 12, tzinfo=LONDON)
    return Submission.objects.create(
        organisation_id="RR8",
        activity_month=month,
        version=number,
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
        record_counts=counts,
    )


def ct_file(tmp_path: Path, rows: int) -> Path:
    return hand_file(tmp_path / "ct.csv", [{"modality": "CT", "request": 3, "report": 1}] * rows)


@pytest.mark.django_db
def test_processing_stores_counts_quality_and_a_notice_against_three_months(submitter, tmp_path):
    for month in (date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1)):
        live_month(month, {"CT": {"RR815": 200}})
    submission = submit_at(submitter, ct_file(tmp_path, 60), WHEN)
    assert submission.status in (SubmissionStatus.ACCEPTED, SubmissionStatus.ACCEPTED_WITH_WARNINGS)
    assert submission.record_counts == {"CT": {"RR815": 60}}
    assert [n["message"] for n in submission.plausibility] == [
        "CT at RR815: 60 records, 70% below your 6-month median of 200"
    ]
    assert submission.quality["nhs_number"]["records"] == 60
    assert submission.quality_score is not None and 0 < submission.quality_score <= 100


@pytest.mark.django_db
def test_processing_gives_no_notice_with_two_months_of_history(submitter, tmp_path):
    for month in (date(2026, 4, 1), date(2026, 5, 1)):
        live_month(month, {"CT": {"RR815": 200}})
    live_month(date(2025, 11, 1), {"CT": {"RR815": 200}})  # 7 months before: not history
    submission = submit_at(submitter, ct_file(tmp_path, 60), WHEN)
    assert submission.plausibility == []
    assert submission.record_counts == {"CT": {"RR815": 60}}


@pytest.mark.django_db
@override_settings(DIDS_PLAUSIBILITY_BELOW=0.75, DIDS_PLAUSIBILITY_MIN_RECORDS=200)
def test_the_thresholds_are_settings(submitter, tmp_path):
    for month in (date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1)):
        live_month(month, {"CT": {"RR815": 200}})
    assert submit_at(submitter, ct_file(tmp_path, 60), WHEN).plausibility == []


@pytest.mark.django_db
def test_a_rejected_file_keeps_no_counts_and_no_notices(submitter, bad_file):
    for month in (date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1)):
        live_month(month, {"CT": {"RR815": 200}})
    submission = submit_at(submitter, bad_file, WHEN)
    assert submission.status == SubmissionStatus.REJECTED
    assert submission.record_counts == {} and submission.plausibility == []
    assert submission.quality_score is None


# In the API ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_gives_the_notices_and_the_quality_of_a_version(
    submitter, api_client_for, tmp_path
):
    for month in (date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1)):
        live_month(month, {"CT": {"RR815": 200}})
    submission = submit_at(submitter, ct_file(tmp_path, 60), WHEN)
    body = api_client_for(submitter).get(f"/api/submissions/{submission.pk}/").json()
    assert [n["message"] for n in body["plausibility"]] == [
        "CT at RR815: 60 records, 70% below your 6-month median of 200"
    ]
    assert body["plausibility"][0]["median"] == 200.0
    assert body["quality_score"] == submission.quality_score
    assert body["quality"]["gender"]["records"] == 60
    assert list(body["quality"]["gender"]) == [
        "label",
        "records",
        "present",
        "valid",
        "good",
        "share",
    ]
    assert "counts_by_rule" in body and "findings_url" in body  # the existing keys stay


@pytest.mark.django_db
def test_another_provider_gets_404_for_the_version(
    submitter, other_provider_user, api_client_for, tmp_path
):
    submission = submit_at(submitter, ct_file(tmp_path, 5), WHEN)
    response = api_client_for(other_provider_user).get(f"/api/submissions/{submission.pk}/")
    assert response.status_code == 404


# The migration's backfill ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_migration_counts_the_records_of_versions_already_stored(submitter, tmp_path):
    from importlib import import_module

    from django.apps import apps

    submission = submit_at(submitter, ct_file(tmp_path, 7), WHEN)
    Submission.objects.filter(pk=submission.pk).update(record_counts={})
    migration = import_module("submissions.migrations.0008_submission_quality_plausibility")
    migration.count_records(apps, None)
    submission.refresh_from_db()
    assert submission.record_counts == {"CT": {"RR815": 7}}
