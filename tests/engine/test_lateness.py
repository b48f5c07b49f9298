"""Records too late to submit (DIDS055): the file says why, and a reopened month takes them."""

from __future__ import annotations

from datetime import date, datetime

from submissions.engine import CheckContext, validate
from submissions.engine.context import LONDON

from .conftest import csv_bytes

HEADER = (
    "nhs_number,nhs_number_status,birth_date,ethnic_category,gender,postcode,gp_practice,"
    "patient_source_setting,referrer_code,referring_org,request_date,request_received_date,"
    "test_date,nicip_code,snomed_code,report_date,site_code,accession_number"
)
MARCH_RECORDS = (
    "6521264818,01,1961-08-26,A,1,BD3 8QY,G85002,03,G1314392,RR8,2026-03-01,2026-03-02,"
    "2026-03-09,CABPEC,574524007,2026-03-12,RR814,ACC-MAR-1",
    "5757807970,01,1955-09-18,A,1,B15 1ZN,B86012,03,G4385309,RR8,2026-03-10,2026-03-10,"
    "2026-03-24,XWRIL,290379009,2026-03-24,RR807,ACC-MAR-2",
)
MARCH = date(2026, 3, 1)
FINAL_MARCH = datetime(2026, 9, 30, 23, 59, 59, tzinfo=LONDON)
TODAY = datetime(2026, 12, 2, 14, 0, tzinfo=LONDON)


def check(reference, **context):
    ctx = CheckContext(submitting_org="RR8", month=MARCH, as_of=TODAY, **context)
    return validate(csv_bytes(HEADER, *MARCH_RECORDS), context=ctx, reference=reference)


def test_the_records_are_accepted_before_the_month_closes(reference):
    ctx = CheckContext(submitting_org="RR8", month=MARCH, as_of=datetime(2026, 4, 2, tzinfo=LONDON))
    report = validate(csv_bytes(HEADER, *MARCH_RECORDS), context=ctx, reference=reference)
    assert report.accepted_rows == 2 and report.findings == []


def test_a_v1_month_checked_after_its_final_deadline_says_first_why_its_records_are_late(reference):
    report = check(reference, final_deadline=FINAL_MARCH)
    assert report.file_rejected and report.counts_by_rule == {"DIDS055": 2, "P006": 1}
    verdict = report.findings[0]
    assert verdict.rule == "P006"
    assert verdict.message == (
        "Every record in the file was rejected (2 of 2 records); 2 records are too late to "
        "submit: March 2026 closed for submissions at 23:59:59 on 30 September 2026 (UK time), "
        "and DIDS055 rejects activity more than 6 months before the month of submission "
        "(December 2026), that is before 1 June 2026. Ask the national DIDS team to reopen "
        "March 2026 for your organisation if it must be sent"
    )


def test_each_late_record_says_its_month_has_closed(reference):
    report = check(reference, final_deadline=FINAL_MARCH)
    late = [f for f in report.findings if f.rule == "DIDS055"]
    assert [f.line for f in late] == [2, 3]
    assert late[0].message == (
        "The diagnostic test date 2026-03-09 is too late to submit: it is more than 6 months "
        "before the month of submission (December 2026); March 2026 closed for submissions at "
        "23:59:59 on 30 September 2026 (UK time)"
    )


def test_without_the_deadline_the_verdict_still_says_which_activity_is_too_late(reference):
    verdict = check(reference).findings[0]
    assert verdict.rule == "P006"
    assert verdict.message.endswith(
        "2 records are too late to submit: DIDS055 rejects activity more than 6 months before "
        "the month of submission (December 2026), that is before 1 June 2026"
    )


def test_a_month_reopened_for_the_organisation_accepts_its_records_with_a_late_warning(reference):
    report = check(reference, final_deadline=FINAL_MARCH, reopened=True)
    assert not report.file_rejected
    assert report.accepted_rows == 2 and report.rejected_rows == 0
    assert report.counts_by_rule == {"DIDS049": 2}
    assert report.findings[0].message.startswith("The diagnostic test date 2026-03-09 is late:")


def test_a_reopened_month_still_rejects_a_record_of_an_earlier_month(reference):
    february = (
        MARCH_RECORDS[0].replace("2026-03-09", "2026-02-27").replace("2026-03-0", "2026-02-0")
    )
    ctx = CheckContext(submitting_org="RR8", month=MARCH, as_of=TODAY, reopened=True)
    report = validate(
        csv_bytes(HEADER, february, MARCH_RECORDS[1]), context=ctx, reference=reference
    )
    assert report.rules_at(2) >= {"DIDS055", "P016"}
    assert report.accepted_rows == 1
