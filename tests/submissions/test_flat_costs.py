"""Costs that do not grow with history (issue 13): each list page and endpoint takes the same
queries with 2 or 20 months, organisations or cut-offs and 10 or 200 records a version, and
none of them reads the records table. The counts they show were stored when the version was
processed or the cut-off taken."""

from __future__ import annotations

import importlib
import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from submissions.choices import CutOffKind, JobState, SubmissionStatus
from submissions.cycle.services import period_cut_off
from submissions.cycle.timetable import add_months
from submissions.models import CutOff, Record, Submission, SubmissionJob, VersionStatistics
from submissions.partitions import record_partition_ensure
from tests.reference.factories import OrganisationFactory
from tests.submissions.conftest import MONTH

pytestmark = pytest.mark.django_db

RECORDS_TABLE = re.compile(r'\bsubmissions_record\b"?(?!_)')
LONDON = ZoneInfo("Europe/London")
SMALL, LARGE = (2, 10), (20, 200)  # (months, organisations or cut-offs; records a version)


def version_with_records(*, organisation: str, month: date, number: int, records: int,
                         live: bool) -> Submission:
    """A processed version whose stored counts say what its ``records`` records hold."""
    warned = records // 5
    received = datetime(*add_months(month, 1).timetuple()[:3], 9, number, tzinfo=LONDON)
    version = Submission.objects.create(
        organisation_id=organisation, activity_month=month, version=number, file="none",
        original_name="f.csv", size_bytes=1, sha256="0" * 64, received_at=received,
        as_of=received, status=SubmissionStatus.ACCEPTED_WITH_WARNINGS, is_live=live,
        rows=records, accepted_rows=records, rejected_rows=0, warned_rows=warned,
        record_counts={"CT": {"RR815": records}}, processed_at=timezone.now())
    SubmissionJob.objects.create(submission=version, state=JobState.DONE)
    VersionStatistics.objects.create(
        submission=version, groups=[["RR815", None, "CT", records]],
        waits={"request_to_test": {"CT": {"3": records}}, "test_to_report": {"CT": {"1": records}}})
    record_partition_ensure(month)
    Record.objects.bulk_create(
        Record(submission=version, line=line, activity_month=month, activity_date=month,
               modality="CT",
               site_code="RR815", warnings="W1" if line <= warned else None)
        for line in range(1, records + 1))
    return version


def months_of(organisation: str, *, months: int, records: int, first: int = 0) -> None:
    """Two versions (the second live) a month, for ``months`` months back from June 2026."""
    for back in range(first, first + months):
        for number in (1, 2):
            version_with_records(organisation=organisation, month=add_months(MONTH, -back),
                                 number=number, records=records, live=number == 2)


def measured(client: Any, url: str) -> list[str]:
    """The SQL of one request (after a first one warmed the caches), checked to succeed."""
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        if response.streaming:  # a CSV download reads as it streams
            b"".join(response.streaming_content)
    assert response.status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def assert_flat(small: list[str], large: list[str]) -> None:
    assert len(large) == len(small), "\n".join(large)
    assert not [sql for sql in small + large if RECORDS_TABLE.search(sql)]


WINDOW = f"start={add_months(MONTH, -LARGE[0] + 1):%Y-%m}&end={MONTH:%Y-%m}"


@pytest.mark.parametrize("url", [
    "/api/submissions/", f"/api/months/?organisation=RR8&{WINDOW}",
])
def test_provider_endpoints_take_the_same_queries_with_20_months_as_with_2(
        token_client, url: str) -> None:
    months_of("RR8", months=SMALL[0], records=SMALL[1])
    small = measured(token_client, url)
    months_of("RR8", months=LARGE[0] - SMALL[0], records=LARGE[1], first=SMALL[0])
    large = measured(token_client, url)
    assert_flat(small, large)


def test_the_months_api_gives_the_stored_quality_of_each_live_version(token_client) -> None:
    months_of("RR8", months=1, records=200)
    body = token_client.get(f"/api/months/?organisation=RR8&start={MONTH:%Y-%m}"
                            f"&end={MONTH:%Y-%m}").json()
    # 200 rows accepted, 40 of them warned: 80% accepted with no warning.
    assert body["months"][0]["quality"] == 80.0


@pytest.mark.parametrize("url", ["/provider/", "/submissions/", f"/submissions/{MONTH:%Y-%m}/"])
def test_provider_pages_take_the_same_queries_with_20_months_as_with_2(
        client_for, submitter, url: str) -> None:
    client = client_for(submitter)
    months_of("RR8", months=SMALL[0], records=SMALL[1])
    small = measured(client, url)
    months_of("RR8", months=LARGE[0] - SMALL[0], records=LARGE[1], first=SMALL[0])
    large = measured(client, url)
    assert_flat(small, large)


def organisations(count: int, *, first: int, records: int) -> None:
    for n in range(first, first + count):
        code = f"Q{n:02d}"
        OrganisationFactory(code=code)
        months_of(code, months=2, records=records)


@pytest.mark.parametrize("url", [
    "/national/compliance/", "/national/quality/", "/national/audit/",
    "/national/compliance.csv",
    "/api/compliance/?start=2026-01&end=2026-06",
])
def test_national_compliance_takes_the_same_queries_with_20_organisations_as_with_2(
        client_for, api_client_for, analyst, url: str) -> None:
    client = api_client_for(analyst) if url.startswith("/api/") else client_for(analyst)
    organisations(SMALL[0], first=0, records=SMALL[1])
    small = measured(client, url)
    organisations(LARGE[0] - SMALL[0], first=SMALL[0], records=LARGE[1])
    large = measured(client, url)
    assert_flat(small, large)


def cut_off_months(count: int, *, first: int, records: int) -> None:
    months_of("RR8", months=count, records=records, first=first)
    for back in range(first, first + count):
        period_cut_off(actor=None, month=add_months(MONTH, -back), kind=CutOffKind.PROVISIONAL)


@pytest.mark.parametrize("url", ["/national/cutoffs/", "/national/timetable/",
                                 "/national/statistics/"])
def test_cut_off_lists_take_the_same_queries_with_20_cut_offs_as_with_2(
        client_for, analyst, rr8, url: str) -> None:
    client = client_for(analyst)
    cut_off_months(SMALL[0], first=0, records=SMALL[1])
    small = measured(client, url)
    cut_off_months(LARGE[0] - SMALL[0], first=SMALL[0], records=LARGE[1])
    large = measured(client, url)
    assert_flat(small, large)


def test_the_cut_offs_api_takes_the_same_queries_with_20_cut_offs_as_with_2(
        api_client_for, analyst, rr8) -> None:
    client = api_client_for(analyst)
    cut_off_months(SMALL[0], first=0, records=SMALL[1])
    small = measured(client, "/api/cutoffs/?page_size=50")
    cut_off_months(LARGE[0] - SMALL[0], first=SMALL[0], records=LARGE[1])
    large = measured(client, "/api/cutoffs/?page_size=50")
    assert_flat(small, large)


def test_the_cut_offs_api_pages_the_last_taken_first_and_follows_its_next_link(
        api_client_for, analyst, rr8) -> None:
    client = api_client_for(analyst)
    cut_off_months(3, first=0, records=2)  # taken June, then May, then April
    first = client.get("/api/cutoffs/?page_size=2").json()
    assert [c["month"] for c in first["results"]] == ["2026-04", "2026-05"]
    second = client.get(first["next"]).json()
    assert [c["month"] for c in second["results"]] == ["2026-06"]
    assert second["next"] is None and second["previous"]


def test_the_statistics_of_months_not_yet_cut_off_take_the_same_queries_with_20_organisations_as_with_2(
        client_for, analyst) -> None:
    client = client_for(analyst)
    organisations(SMALL[0], first=0, records=SMALL[1])
    small = measured(client, "/national/statistics/")
    organisations(LARGE[0] - SMALL[0], first=SMALL[0], records=LARGE[1])
    large = measured(client, "/national/statistics/")
    assert_flat(small, large)
    body = client.get(f"/national/statistics/?month={MONTH:%Y-%m}").content.decode()
    assert "Live files (not yet cut off)" in body


def test_a_cut_off_page_takes_the_same_queries_with_20_organisations_as_with_2(
        client_for, analyst, rr8) -> None:
    client = client_for(analyst)
    older, newer = add_months(MONTH, -2), add_months(MONTH, -3)
    for n, (month, count, records) in enumerate(((older, *SMALL), (newer, *LARGE))):
        for i in range(count):
            code = f"P{n}{i:02d}"
            OrganisationFactory(code=code)
            version_with_records(organisation=code, month=month, number=1, records=records,
                                 live=True)
        period_cut_off(actor=None, month=month, kind=CutOffKind.PROVISIONAL)
    small = measured(client, f"/national/cutoffs/{older:%Y-%m}/provisional/")
    large = measured(client, f"/national/cutoffs/{newer:%Y-%m}/provisional/")
    assert_flat(small, large)


def test_a_cut_off_stores_how_many_organisations_it_took(rr8) -> None:
    OrganisationFactory(code="Q01")
    for code in ("RR8", "Q01"):
        version_with_records(organisation=code, month=MONTH, number=1, records=3, live=True)
    cutoff, _ = period_cut_off(actor=None, month=MONTH, kind=CutOffKind.PROVISIONAL)
    assert CutOff.objects.get(pk=cutoff.pk).organisation_count == 2
    assert cutoff.record_count == 6


def test_the_migration_counts_the_organisations_of_cut_offs_already_taken(rr8) -> None:
    backfill = importlib.import_module(
        "submissions.migrations.0010_cutoff_organisation_count").BACKFILL
    OrganisationFactory(code="Q01")
    for code in ("RR8", "Q01"):
        version_with_records(organisation=code, month=MONTH, number=1, records=3, live=True)
    cutoff, _ = period_cut_off(actor=None, month=MONTH, kind=CutOffKind.PROVISIONAL)
    CutOff.objects.filter(pk=cutoff.pk).update(organisation_count=0)
    with connection.cursor() as cursor:
        cursor.execute(backfill)
    assert CutOff.objects.get(pk=cutoff.pk).organisation_count == 2
