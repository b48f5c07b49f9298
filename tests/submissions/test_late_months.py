"""A v1.0 month checked after its final deadline says why its records are late; a month
reopened for the organisation takes them."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command

from submissions.choices import SubmissionStatus
from submissions.cycle.services import period_reopen
from submissions.cycle.timetable import LONDON
from submissions.services import submission_create, submission_process
from tests.submissions.conftest import upload_of

pytestmark = pytest.mark.django_db

MARCH = date(2026, 3, 1)  # a v1.0 month; its final deadline is 23:59:59 on 30 September 2026
TODAY = datetime(2026, 12, 2, 14, 0, tzinfo=LONDON)
KEYS = {
    "dataset_version",
    "rows",
    "accepted_rows",
    "rejected_rows",
    "file_rejected",
    "counts_by_rule",
    "findings",
    "reference_release",
    "ruleset_version",
}


def dids_check(capsys, path, org="RR8"):
    code = 0
    try:
        call_command(
            "dids_check",
            str(path),
            "--org",
            org,
            "--month",
            "2026-03",
            "--as-of",
            TODAY.isoformat(),
            "--format",
            "json",
        )
    except SystemExit as exc:
        code = exc.code
    return code, json.loads(capsys.readouterr().out)


def reopen_march(analyst, org="RR8"):
    with time_machine.travel(TODAY - timedelta(days=1), tick=False):
        period_reopen(
            actor=analyst,
            organisation_code=org,
            month=MARCH,
            reason="RIS migration",
            expires_at=TODAY + timedelta(days=7),
        )


def test_dids_check_of_a_closed_v1_month_says_first_why_every_record_is_late(
    capsys, sample_reference, make_file
):
    code, report = dids_check(capsys, make_file(rows=6, month=MARCH))
    assert code == 1
    assert set(report) == KEYS
    assert report["counts_by_rule"] == {"DIDS055": 6, "P006": 1}
    verdict = report["findings"][0]
    assert verdict["rule"] == "P006" and verdict["item"] is None
    assert (
        "6 records are too late to submit: March 2026 closed for submissions at 23:59:59 on "
        "30 September 2026 (UK time)" in verdict["message"]
    )
    assert "Ask the national DIDS team to reopen March 2026" in verdict["message"]


def test_dids_check_of_a_month_reopened_for_the_organisation_accepts_its_records(
    capsys, sample_reference, analyst, make_file
):
    reopen_march(analyst)
    code, report = dids_check(capsys, make_file(rows=6, month=MARCH))
    assert code == 0
    assert report["accepted_rows"] == 6
    assert report["counts_by_rule"] == {"DIDS049": 6}


def test_a_reopening_for_another_organisation_leaves_the_records_late(
    capsys, sample_reference, analyst, make_file
):
    reopen_march(analyst, org="RCD")
    code, report = dids_check(capsys, make_file(rows=6, month=MARCH))
    assert code == 1 and report["counts_by_rule"]["DIDS055"] == 6


def test_a_file_submitted_for_a_reopened_month_is_accepted(
    sample_reference, analyst, submitter, make_file
):
    reopen_march(analyst)
    path = make_file(rows=6, month=MARCH)
    with time_machine.travel(TODAY, tick=False):
        submission, _ = submission_create(
            actor=submitter,
            organisation_code="RR8",
            activity_month=MARCH,
            upload=upload_of(path),
            original_name=path.name,
            as_of=TODAY,
            enqueue=lambda pk: None,
        )
        submission_process(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.ACCEPTED_WITH_WARNINGS
    assert submission.accepted_rows == 6 and submission.rejected_rows == 0
    assert submission.counts_by_rule == {"DIDS049": 6}
