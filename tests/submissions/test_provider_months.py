"""A provider's months (``/api/months/`` and the months page) are read in two SQL statements
written once per process: the answer is the one the six ORM queries it replaced gave (kept
here as the reference), and the query count does not grow with the months."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import api_token_create
from dids_portal.lib import prepared
from reference.choices import OrganisationType
from reference.models import Organisation
from submissions.api import cycle as cycle_api
from submissions.api.cycle import _plain
from submissions.choices import SubmissionStatus
from submissions.cycle import provider_months_json as months_json
from submissions.cycle.provider_months import ProviderMonth, provider_month_statuses
from submissions.cycle.provider_months_json import provider_months_json
from submissions.cycle.selectors import _register, month_of
from submissions.cycle.timetable import add_months
from submissions.models import (
    CutOff,
    CutOffVersion,
    PeriodReopening,
    ReportingPeriod,
    Submission,
)
from tests.submissions.conftest import MONTH

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 7, 20, 12, 0, 0, 123456, tzinfo=LONDON)


def orm_month_statuses(*, organisation_code: str, start: date | None, end: date | None,
                       now: datetime) -> list[ProviderMonth]:
    """The previous path, six ORM queries: the compliance register's row of the organisation,
    then its cut-offs, what each took and its reopenings."""
    end_month = month_of(end) if end else now.date().replace(day=1)
    start_month = month_of(start) if start else add_months(end_month, -11)
    code = organisation_code
    register, read = _register(start=start_month, end=end_month, region=None,
                               organisation_type=None, organisation_code=code, now=now)
    row = next((r for r in register.rows if r.organisation_code == code), None)
    if row is None:
        return []
    months = [c.month for c in row.cells if c is not None]
    shown = ("id", "version", "status", "is_live", "received_at", "rows", "accepted_rows",
             "rejected_rows")
    versions = {month: [{k: v[k] for k in shown} for v in reversed(read.get((code, month), []))]
                for month in months}
    taken: dict[date, dict[str, dict[str, Any]]] = defaultdict(dict)
    for cutoff in (CutOff.objects.filter(period__activity_month__in=months)
                   .select_related("period")):
        taken[cutoff.period.activity_month][cutoff.kind] = {
            "cutoff_id": cutoff.pk, "taken_at": cutoff.taken_at, "submission_id": None,
            "version": None}
    for month, kind, submission_id, version in CutOffVersion.objects.filter(
            organisation_id=code, cutoff__period__activity_month__in=months).values_list(
            "cutoff__period__activity_month", "cutoff__kind", "submission_id",
            "submission__version"):
        taken[month][kind].update(submission_id=submission_id, version=version)
    reopened = dict(PeriodReopening.objects.filter(
        organisation_id=code, period__activity_month__in=months, expires_at__gt=now,
        granted_at__lte=now).values_list("period__activity_month", "expires_at"))
    statuses = []
    for cell in reversed([c for c in row.cells if c is not None]):
        until = reopened.get(cell.month)
        statuses.append(ProviderMonth(
            month=cell.month, state=cell.state, state_label=cell.state_label,
            provisional_deadline=cell.provisional_deadline, final_deadline=cell.final_deadline,
            locked=now > cell.final_deadline and until is None, reopened_until=until,
            live_submission_id=cell.live_submission_id, live_version=cell.live_version,
            quality=cell.quality, versions=versions.get(cell.month, []),
            cutoffs=taken.get(cell.month, {})))
    return statuses


def as_json(statuses: list[ProviderMonth]) -> bytes:
    return JSONRenderer().render(_plain(statuses))


def version(code: str, month: date, number: int, received: datetime, status: str, *,
            live: bool = False, rows: int = 10, warned: int = 0) -> Submission:
    accepted = 0 if status in (SubmissionStatus.REJECTED, SubmissionStatus.FAILED) else max(0, rows - 1)
    return Submission.objects.create(
        organisation_id=code, activity_month=month, version=number, file="none",
        original_name="f.csv", size_bytes=1, sha256="0" * 64, received_at=received,
        as_of=received, status=status, is_live=live, rows=rows, accepted_rows=accepted,
        rejected_rows=rows - accepted, warned_rows=warned)


def cut_off(month: date, kind: str, taken: dict[str, Submission]) -> CutOff:
    period, _ = ReportingPeriod.objects.get_or_create(
        activity_month=month, defaults={
            "provisional_deadline": datetime(*add_months(month, 1).timetuple()[:3], 23, 59,
                                             tzinfo=LONDON) + timedelta(days=20),
            "final_deadline": datetime(*add_months(month, 6).timetuple()[:3], 23, 59,
                                       tzinfo=LONDON)})
    cutoff = CutOff.objects.create(
        period=period, kind=kind, deadline=period.provisional_deadline,
        taken_at=datetime(2026, 3, 1, 10, 0, 0, 654321, tzinfo=LONDON), run_by_label="test",
        code_version="t", record_count=1, records_checksum="0" * 64, manifest={})
    for code, submission in taken.items():
        CutOffVersion.objects.create(cutoff=cutoff, organisation_id=code, submission=submission)
    return cutoff


@pytest.fixture
def history(submitter, other_provider_user) -> None:
    """RR8's months in every state, a predecessor merged into it, RCD's versions and cut-off
    entries beside them, two cut-offs, reopenings current, ended and not yet granted."""
    on_time = version("RR8", date(2026, 1, 1), 1, datetime(2026, 2, 2, 9, tzinfo=LONDON),
                      SubmissionStatus.ACCEPTED)
    late = version("RR8", date(2026, 1, 1), 2, datetime(2026, 3, 5, 9, tzinfo=LONDON),
                   SubmissionStatus.ACCEPTED_WITH_WARNINGS, live=True, warned=3)
    version("RR8", date(2026, 2, 1), 1, datetime(2026, 4, 1, 9, tzinfo=LONDON),
            SubmissionStatus.ACCEPTED, live=True)  # late
    version("RR8", date(2026, 3, 1), 1, datetime(2026, 4, 1, 9, tzinfo=LONDON),
            SubmissionStatus.REJECTED)  # rejected only
    version("RR8", date(2025, 12, 1), 1, datetime(2026, 1, 2, 9, tzinfo=LONDON),
            SubmissionStatus.FAILED)
    version("RR8", MONTH, 1, datetime(2026, 7, 2, 9, 30, 1, 123456, tzinfo=LONDON),
            SubmissionStatus.ACCEPTED, live=True, rows=0)  # quality None
    other = version("RCD", date(2026, 1, 1), 1, datetime(2026, 2, 2, 9, tzinfo=LONDON),
                    SubmissionStatus.ACCEPTED, live=True)
    Organisation.objects.create(code="RX1", name="Merged away", type=OrganisationType.NHS_TRUST,
                                region="Y56", successor_id="RR8", closed=date(2025, 6, 30))
    version("RX1", date(2025, 5, 1), 1, datetime(2025, 6, 2, 9, tzinfo=LONDON),
            SubmissionStatus.ACCEPTED, live=True)
    january = cut_off(date(2026, 1, 1), "provisional", {"RR8": on_time, "RCD": other})
    cut_off(date(2026, 1, 1), "final", {"RR8": late})
    cut_off(date(2026, 2, 1), "provisional", {"RCD": other})  # took nothing of RR8's
    march = ReportingPeriod.objects.get_or_create(
        activity_month=date(2026, 3, 1), defaults={
            "provisional_deadline": datetime(2026, 4, 10, 12, tzinfo=LONDON),
            "final_deadline": datetime(2026, 5, 1, 12, tzinfo=LONDON)})[0]
    for period, granted, expires in (
            (march, NOW - timedelta(days=2), NOW + timedelta(days=3, microseconds=7)),
            (january.period, NOW - timedelta(days=9), NOW - timedelta(days=1)),  # over
            (january.period, NOW + timedelta(days=1), NOW + timedelta(days=4))):  # not yet
        PeriodReopening.objects.create(period=period, organisation_id="RR8", reason="Late file",
                                       granted_at=granted, expires_at=expires)
    PeriodReopening.objects.create(period=january.period, organisation_id="RCD", reason="RCD's",
                                   granted_at=NOW - timedelta(days=1),
                                   expires_at=NOW + timedelta(days=1))


@pytest.mark.parametrize(("start", "end"), [(None, None), (date(2025, 7, 1), date(2026, 8, 1)),
                                            (date(2026, 1, 1), date(2026, 1, 1))])
def test_the_two_statements_answer_what_the_orm_queries_answered(history, start, end):
    expected = orm_month_statuses(organisation_code="RR8", start=start, end=end, now=NOW)
    statuses = provider_month_statuses(organisation_code="rr8 ", start=start, end=end, now=NOW)
    assert len(statuses) == len(expected) > 0
    assert as_json(statuses) == as_json(expected)


def test_an_organisation_in_scope_part_of_the_time_has_only_those_months(history):
    Organisation.objects.filter(code="RR8").update(in_scope_from=date(2026, 2, 1))
    expected = orm_month_statuses(organisation_code="RR8", start=None, end=None, now=NOW)
    statuses = provider_month_statuses(organisation_code="RR8", now=NOW)
    assert [s.month for s in statuses] == [add_months(date(2026, 7, 1), -i) for i in range(6)]
    assert as_json(statuses) == as_json(expected)


@pytest.mark.parametrize("code", ["RX1", "NOPE"])
def test_an_organisation_out_of_scope_or_unknown_has_no_months_in_one_query(
        history, code, django_assert_num_queries):
    assert orm_month_statuses(organisation_code=code, start=None, end=None, now=NOW) == []
    with django_assert_num_queries(1):
        assert provider_month_statuses(organisation_code=code, now=NOW) == []


@pytest.mark.parametrize("months", [1, 24])
def test_the_months_are_two_queries_however_many_months_and_cut_offs(
        history, months, django_assert_num_queries):
    for i in range(months):
        month = add_months(date(2024, 1, 1), i)
        version("RR8", month, 5, datetime(*add_months(month, 1).timetuple()[:3], tzinfo=LONDON),
                SubmissionStatus.ACCEPTED)
    with django_assert_num_queries(2):
        statuses = provider_month_statuses(organisation_code="RR8", start=date(2024, 1, 1),
                                           end=date(2026, 6, 1), now=NOW)
    assert len(statuses) == 30


def test_the_months_endpoint_answers_what_the_orm_queries_answered_in_one_query_or_two(
        history, submitter, django_assert_num_queries, monkeypatch):
    """One statement on PostgreSQL (which writes the JSON), the two on SQLite."""
    _, plaintext = api_token_create(actor=submitter, organisation_code="RR8", name="RIS")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {plaintext}")
    client.get("/api/submissions/")  # the token's first use is recorded once
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 2):
        response = client.get("/api/months/?organisation=RR8")
    expected = orm_month_statuses(organisation_code="RR8", start=None, end=None, now=NOW)
    assert response.status_code == 200
    assert response.content == JSONRenderer().render({"organisation": "RR8",
                                                      "months": _plain(expected)})


# The months as JSON written by PostgreSQL --------------------------------------------------

def python_json(code: str, start: date | None = None, end: date | None = None) -> str:
    """What the Python path renders (the reference the statement is held to)."""
    statuses = provider_month_statuses(organisation_code=code, start=start, end=end, now=NOW)
    return JSONRenderer().render(_plain(statuses)).decode()


postgresql_only = pytest.mark.skipif("connection.vendor != 'postgresql'",
                                     reason="the statement is PostgreSQL's")


@postgresql_only
@pytest.mark.parametrize(("start", "end"), [(None, None), (date(2025, 7, 1), date(2026, 8, 1)),
                                            (date(2025, 10, 1), date(2025, 10, 1))])
def test_postgresql_writes_the_months_byte_for_byte_as_the_renderer(
        history, start, end, django_assert_num_queries):
    """Deadlines from the timetable and defaults across the BST changes, a current reopening
    beside ended and future ones, cut-offs that took a version or nothing, a version with no
    quality, microseconds, months in every state."""
    with django_assert_num_queries(1):
        written = provider_months_json(organisation_code="rr8 ", start=start, end=end, now=NOW)
    expected = python_json("RR8", start, end)
    assert written == expected
    if start is None:  # the data set has what the docstring says
        for shown in ('"reopened_until":"2026-07-23T11:00:00.123463+00:00"', '"quality":null',
                      '"provisional_deadline":"2026-08-28T23:59:59+01:00"',
                      '"final_deadline":"2027-01-29T23:59:59+00:00"', '"version":null}',
                      '"state":"rejected_only"', '"state":"late"', '"state":"on_time"'):
            assert shown in written


@postgresql_only
def test_postgresql_writes_only_the_months_in_scope(history):
    Organisation.objects.filter(code="RR8").update(in_scope_from=date(2026, 2, 1),
                                                   in_scope_to=date(2026, 5, 31))
    written = provider_months_json(organisation_code="RR8", now=NOW)
    assert written == python_json("RR8")
    assert [m["month"] for m in json.loads(written or "")] == [
        "2026-05-01", "2026-04-01", "2026-03-01", "2026-02-01"]


@postgresql_only
@pytest.mark.parametrize("code", ["RX1", "NOPE"])
def test_postgresql_writes_no_months_of_an_organisation_out_of_scope_or_unknown(history, code):
    assert provider_months_json(organisation_code=code, now=NOW) == "[]" == python_json(code)


@postgresql_only
def test_a_quality_python_rounds_otherwise_is_left_to_the_python_path(history):
    """100 * 3 / 2000 is 0.15 exactly; Python rounds the double below it down to 0.1."""
    Submission.objects.filter(organisation_id="RR8", activity_month=MONTH).update(
        rows=2000, accepted_rows=1999, warned_rows=1996,
        status=SubmissionStatus.ACCEPTED_WITH_WARNINGS)
    assert provider_months_json(organisation_code="RR8", now=NOW) is None
    assert '"quality":0.1,' in python_json("RR8")
    Submission.objects.filter(organisation_id="RR8", activity_month=MONTH).update(warned_rows=1995)
    assert provider_months_json(organisation_code="RR8", now=NOW) == python_json("RR8")


def test_another_database_is_left_to_the_python_path(history, monkeypatch):
    """SQLite (the embedded default) has no statement: the endpoint renders the Python path's
    answer, the same body as PostgreSQL's (there, the statement is taken away)."""
    if connection.vendor == "postgresql":
        monkeypatch.setattr(cycle_api, "provider_months_json", lambda **_: None)
    else:
        assert provider_months_json(organisation_code="RR8", now=NOW) is None
    _, plaintext = api_token_create(actor=User.objects.get(email="submitter@rr8.example.nhs.uk"),
                                    organisation_code="RR8", name="RIS")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {plaintext}")
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    response = client.get("/api/months/?organisation=RR8")
    assert response.status_code == 200
    assert response.content.decode() == f'{{"organisation":"RR8","months":{python_json("RR8")}}}'


@postgresql_only
@pytest.mark.parametrize(("settings", "first", "then"), [
    ({"CONN_MAX_AGE": 60}, "PREPARE", "EXECUTE"),
    ({"CONN_MAX_AGE": 0}, "WITH", "WITH"),  # a new connection a request: nothing to keep
    ({"CONN_MAX_AGE": 60, "DISABLE_SERVER_SIDE_CURSORS": True}, "WITH", "WITH")])  # PgBouncer
def test_the_statement_is_prepared_once_a_persistent_connection_and_answers_the_same(
        history, monkeypatch, settings, first, then):
    for key, value in settings.items():
        monkeypatch.setitem(connection.settings_dict, key, value)
    prepared.forget(connection, months_json.NAME)  # as on a connection it has not been on
    expected = python_json("RR8")
    for start in (first, then):
        with CaptureQueriesContext(connection) as queries:
            assert provider_months_json(organisation_code="RR8", now=NOW) == expected
        assert [q["sql"].split()[0] for q in queries.captured_queries] == [start]


def test_a_window_that_ends_before_it_starts_has_no_months(history, token_client):
    """It once failed on the first of no months (a 500)."""
    assert provider_month_statuses(organisation_code="RR8", start=date(2026, 5, 1),
                                   end=date(2026, 4, 1), now=NOW) == []
    response = token_client.get("/api/months/?organisation=RR8&start=2026-05&end=2026-04")
    assert response.status_code == 200
    assert response.json() == {"organisation": "RR8", "months": []}


@pytest.mark.parametrize("attempt", [1, 2])
def test_a_window_too_long_is_refused_every_time(token_client, attempt):
    response = token_client.get("/api/months/?organisation=RR8&start=2010-01&end=2026-04")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "range_too_long"
