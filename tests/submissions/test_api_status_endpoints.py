"""The provider status endpoints (``/api/submissions/``, ``/api/submissions/{id}/``,
``/api/months/``) with a RIS token: the written-out serializer says what DRF's generic one
says, and each endpoint's query count is pinned, not growing with versions or months."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from accounts.services import api_token_create
from submissions.api.serializers import STATUS_COLUMNS, SubmissionSerializer, submission_status_row
from submissions.choices import JobState, SubmissionStatus
from submissions.models import Submission, SubmissionJob
from submissions.selectors import StatusRows, submission_list_for, submission_status_rows
from tests.submissions.conftest import AS_OF, MONTH
from tests.submissions.cycle_helpers import submit_at

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


def bare_version(*, month: date, number: int, received_at: datetime, **fields) -> Submission:
    return Submission.objects.create(
        organisation_id="RR8", activity_month=month, version=number, file="none",
        original_name="f.csv", size_bytes=1, sha256="0" * 64, received_at=received_at,
        as_of=received_at, **fields)


def as_json(data) -> str:
    return JSONRenderer().render(data).decode()


def test_the_written_out_serializer_says_what_drfs_generic_one_says(submitter, make_file):
    submit_at(submitter, make_file(rows=20, error_rate=0.2, seed=3), AS_OF)  # user, job, release
    # No job, no user, no release, not processed, received in winter (UTC: "Z").
    bare_version(month=date(2026, 1, 1), number=1, received_at=datetime(2026, 2, 3, 9, 0, 0,
                                                                         tzinfo=LONDON))
    # A failed one whose job has times with microseconds, in summer time.
    failed = bare_version(month=date(2026, 5, 1), number=1,
                          received_at=datetime(2026, 6, 2, 9, 30, 1, 123456, tzinfo=LONDON),
                          status=SubmissionStatus.FAILED, failure_reason="It broke.",
                          processed_at=datetime(2026, 6, 2, 9, 31, tzinfo=LONDON))
    SubmissionJob.objects.create(submission=failed, state=JobState.FAILED, rows_estimate=10,
                                 rows_done=4, attempts=2, error="It broke.",
                                 started_at=datetime(2026, 6, 2, 9, 30, 2, 5, tzinfo=LONDON))
    versions = list(submission_list_for(user=submitter))
    assert len(versions) == 3
    for version in versions:
        serializer = SubmissionSerializer(version)
        generic = serializers.ModelSerializer.to_representation(serializer, version)
        written = serializer.to_representation(version)
        assert list(written) == list(generic)
        assert as_json(written) == as_json(generic)


def test_the_status_row_of_the_columns_says_what_the_serializer_says(submitter, make_file):
    submit_at(submitter, make_file(rows=20, error_rate=0.2, seed=3), AS_OF)  # user, job, release
    bare_version(month=date(2026, 1, 1), number=1, received_at=datetime(2026, 2, 3, 9, 0, 0,
                                                                         tzinfo=LONDON))
    failed = bare_version(month=date(2026, 5, 1), number=1,
                          received_at=datetime(2026, 6, 2, 9, 30, 1, 123456, tzinfo=LONDON),
                          status=SubmissionStatus.FAILED, failure_reason="It broke.")
    SubmissionJob.objects.create(submission=failed, state=JobState.VALIDATING, rows_estimate=10,
                                 rows_done=4, attempts=2)
    rows = {r["id"]: r for r in submission_list_for(user=submitter).values(*STATUS_COLUMNS)}
    versions = list(submission_list_for(user=submitter))
    assert len(versions) == len(rows) == 3
    for version in versions:
        expected = SubmissionSerializer(version).data
        assert as_json(submission_status_row(rows[version.pk])) == as_json(expected)


@pytest.fixture
def token_client(submitter) -> APIClient:
    _, plaintext = api_token_create(actor=submitter, organisation_code="RR8", name="RIS")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {plaintext}")
    client.get("/api/submissions/")  # the token's first use is recorded once
    return client


def many_versions(months: int) -> list[Submission]:
    """Two versions a month (the second live, with its job) for ``months`` months."""
    made = []
    for i in range(months):
        month = date(2026 - (i // 6), 6 - (i % 6), 1)
        for number in (1, 2):
            version = bare_version(month=month, number=number, received_at=AS_OF,
                                   status=SubmissionStatus.ACCEPTED, is_live=number == 2,
                                   rows=10, accepted_rows=10, warned_rows=0)
            SubmissionJob.objects.create(submission=version, state=JobState.DONE)
            made.append(version)
    return made


@pytest.mark.parametrize("months", [1, 12])
def test_the_submission_list_takes_the_same_queries_however_many_versions(
        token_client, months, django_assert_max_num_queries):
    many_versions(months)
    with django_assert_max_num_queries(2):
        response = token_client.get("/api/submissions/")
    assert len(response.json()["results"]) == 2 * months


def test_another_organisations_submission_is_a_404_and_a_malformed_id_too(token_client):
    other = bare_version(month=date(2026, 1, 1), number=1, received_at=AS_OF)
    Submission.objects.filter(pk=other.pk).update(organisation_id="RAJ")
    assert token_client.get(f"/api/submissions/{other.pk}/").status_code == 404
    assert token_client.get("/api/submissions/12x/").status_code == 404


def test_a_submission_takes_two_queries(token_client, django_assert_max_num_queries):
    live = many_versions(1)[1]
    with django_assert_max_num_queries(2):
        response = token_client.get(f"/api/submissions/{live.pk}/")
    assert response.json()["id"] == live.pk


@pytest.mark.parametrize("months", [1, 12])
def test_the_months_take_the_same_queries_however_many_months(
        token_client, months, django_assert_num_queries):
    many_versions(months)
    # The token is remembered: one statement on PostgreSQL; the versions, the periods on SQLite.
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 2):
        response = token_client.get(f"/api/months/?organisation=RR8&start=2025-07&end={MONTH:%Y-%m}")
    assert len(response.json()["months"]) == 12


def test_the_status_rows_statement_reads_what_the_orm_reads(submitter, make_file):
    submit_at(submitter, make_file(rows=20, error_rate=0.2, seed=3), AS_OF)  # user, job, release
    bare_version(month=date(2026, 1, 1), number=1, received_at=datetime(2026, 2, 3, 9, 0, 0,
                                                                         tzinfo=LONDON))
    orm = {r["id"]: r for r in Submission.objects.values(*STATUS_COLUMNS)}
    rows = submission_status_rows(user=submitter, columns=STATUS_COLUMNS)
    newest_first = rows.order_by("-id")[0:10]
    assert [r["id"] for r in newest_first] == sorted(orm, reverse=True)
    for row in newest_first:
        assert row == orm[row["id"]]
    oldest = min(orm)
    assert rows.order_by("id").filter(id__gt=oldest)[0:10] == [orm[k] for k in sorted(orm)[1:]]
    assert rows.filter(pk=oldest)[:1] == [orm[oldest]]


def test_the_status_rows_of_no_organisation_are_none_without_a_query(
        django_assert_num_queries):
    rows = StatusRows(codes=set(), columns=STATUS_COLUMNS)
    with django_assert_num_queries(0):
        assert rows.order_by("-id")[0:51] == []


def test_an_id_too_long_for_any_version_or_not_ascii_digits_is_a_404(token_client):
    assert token_client.get(f"/api/submissions/{2**63}/").status_code == 404
    assert token_client.get("/api/submissions/\u00b2/").status_code == 404


def walk(client, url: str) -> tuple[list[int], list[int]]:
    """The ids of every page following ``next``, then back from the last page by ``previous``."""
    forward, back, page = [], [], client.get(url).json()
    while True:
        forward.extend(r["id"] for r in page["results"])
        if not page["next"]:
            break
        page = client.get(page["next"]).json()
    while page["previous"]:
        page = client.get(page["previous"]).json()
        back.extend(r["id"] for r in page["results"])
    return forward, back


def test_the_unfiltered_list_pages_as_the_filtered_one(token_client):
    made = many_versions(26)  # 52 versions: two pages of 50
    unfiltered = walk(token_client, "/api/submissions/")
    # A filter parameter given blank narrows nothing, but takes the filtered (ORM) path.
    assert walk(token_client, "/api/submissions/?status=") == unfiltered
    assert unfiltered[0] == sorted((v.pk for v in made), reverse=True)
    assert len(unfiltered[1]) == 50
    first = token_client.get("/api/submissions/").json()
    assert first["results"] == token_client.get("/api/submissions/?is_live=").json()["results"]
    live = sorted((v.pk for v in made if v.is_live), reverse=True)
    assert walk(token_client, "/api/submissions/?is_live=true")[0] == live


@pytest.mark.parametrize("months", [1, 26])
def test_the_unfiltered_list_is_one_query_however_many_versions(
        token_client, months, django_assert_num_queries):
    many_versions(months)
    with django_assert_num_queries(1):  # the token is remembered: the rows alone
        response = token_client.get("/api/submissions/")
    assert len(response.json()["results"]) == min(50, 2 * months)


def test_a_submission_is_one_query(token_client, django_assert_num_queries):
    live = many_versions(1)[1]
    with django_assert_num_queries(1):
        response = token_client.get(f"/api/submissions/{live.pk}/")
    assert response.json()["id"] == live.pk
