"""The status poll answered by one statement whose JSON PostgreSQL writes (``status_json``):
its bytes are what DRF's paginator and ``SubmissionSerializer`` write for the same data, on
PostgreSQL and (by the DRF path it falls back to) on SQLite."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from accounts.models import ApiToken
from accounts.services import api_token_create
from dids_portal.lib import prepared
from submissions.api import views
from submissions.api.serializers import SubmissionSerializer
from submissions.choices import JobState, SubmissionStatus
from submissions.models import Submission, SubmissionJob
from submissions.selectors import submission_list_for
from tests.submissions.cycle_helpers import submit_at
from tests.submissions.test_api_status_endpoints import AS_OF, bare_version, many_versions

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
ODD = 'a "quoted", back\\slash\nnew line \t tab \x01 \u2028 \u2029 caf\u00e9 \U0001f600 {"k": 1}'
NOTICE = {"modality": "CT", "site": "RR801", "records": 12, "median": 40.5,
          "change_percent": -70.4, "direction": "below", "history_versions": 6,
          "message": 'CT at RR801: 12 records, "70.4%" below'}
ITEM = {"label": "NHS number", "records": 20, "present": 20, "valid": 19, "good": 19,
        "share": 95.0}


def expected_page(user, token: ApiToken, query: str = "") -> bytes:
    """The page as DRF's CursorPagination and the serializer write it (the old path)."""
    request = Request(APIRequestFactory().get("/api/submissions/" + query))
    paginator = views.NewestFirst()
    page = paginator.paginate_queryset(submission_list_for(user=user, token=token), request)
    data = paginator.get_paginated_response(SubmissionSerializer(page, many=True).data).data
    return JSONRenderer().render(data)


@pytest.fixture
def token(submitter) -> tuple[ApiToken, APIClient]:
    token, plaintext = api_token_create(actor=submitter, organisation_code="RR8", name="RIS")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {plaintext}")
    client.get("/api/submissions/")  # checked and remembered: the next polls take the short path
    return token, client


def varied_versions(submitter, make_file) -> list[Submission]:
    """Versions in GMT and in BST (both sides of the 29 March 2026 change), with and without
    microseconds, job, user, release and scores, odd strings and stored JSON."""
    submit_at(submitter, make_file(rows=20, error_rate=0.2, seed=3), AS_OF)  # user, job, release
    winter = bare_version(month=date(2026, 2, 1), number=1,
                          received_at=datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=LONDON))
    summer = bare_version(
        month=date(2026, 2, 1), number=2, received_at=datetime(2026, 3, 29, 2, 0, 0, tzinfo=LONDON),
        status=SubmissionStatus.FAILED, failure_reason=ODD,
        processed_at=datetime(2026, 3, 29, 2, 0, 1, 5, tzinfo=LONDON), quality_score=100.0,
        counts_by_rule={"W001": 3, "E010": 1, ODD: 2}, plausibility=[NOTICE, {**NOTICE,
                                                                     "change_percent": None}],
        quality={"nhs_number": ITEM, "postcode": {**ITEM, "share": 33.3, "label": ODD}})
    Submission.objects.filter(pk=summer.pk).update(original_name=ODD)
    SubmissionJob.objects.create(submission=summer, state=JobState.FAILED, rows_estimate=7,
                                 rows_done=3, attempts=2, error=ODD,
                                 started_at=datetime(2026, 10, 25, 1, 30, tzinfo=LONDON))
    autumn = bare_version(month=date(2026, 9, 1), number=1, quality_score=87.25,
                          received_at=datetime(2026, 10, 25, 1, 30, 0, 1, tzinfo=LONDON,
                                               fold=1))  # the second 01:30, in GMT
    SubmissionJob.objects.create(submission=autumn, state=JobState.VALIDATING, rows_estimate=0)
    return [winter, summer, autumn]


def test_the_poll_is_the_serializers_page_across_bst_with_nulls_and_odd_strings(
        submitter, make_file, token):
    varied_versions(submitter, make_file)
    body = token[1].get("/api/submissions/").content
    assert body == expected_page(submitter, token[0])
    assert b'"received_at":"2026-03-29T00:59:59.999999Z"' in body
    assert b'"received_at":"2026-03-29T02:00:00+01:00"' in body
    assert b'"received_at":"2026-10-25T01:30:00.000001Z"' in body
    assert b'"quality_score":100.0' in body and b"\\u2028" in body


def test_a_version_is_the_serializers_bytes(submitter, make_file, token):
    varied_versions(submitter, make_file)
    versions = list(submission_list_for(user=submitter))
    assert len(versions) == 4
    for version in versions:
        body = token[1].get(f"/api/submissions/{version.pk}/").content
        assert body == JSONRenderer().render(SubmissionSerializer(version).data)


def test_the_first_page_links_to_the_second_as_drfs_paginator_does(submitter, token):
    many_versions(26)  # 52 versions: two pages of 50
    first = token[1].get("/api/submissions/")
    assert first.content == expected_page(submitter, token[0])
    following = first.json()["next"]
    assert following.startswith("http://testserver/api/submissions/?cursor=")
    query = following.split("/api/submissions/", 1)[1]
    assert token[1].get(following).content == expected_page(submitter, token[0], query)
    assert len(token[1].get(following).json()["results"]) == 2


@pytest.mark.parametrize("odd", [
    {"quality_score": 1e15}, {"quality_score": float("1234567890123456.5")},
    {"plausibility": [{**NOTICE, "median": 1e-05}]},
    {"quality": {"x": {**ITEM, "share": 2.5e-07}}},
    {"counts_by_rule": {"W001": 1, "ratio": 3e-05}},
    {"plausibility": [{**NOTICE, "site": ["RR801", "RR802"]}]},
    {"quality": {"x": {**ITEM, "label": {"en": "NHS number"}}}},
])
def test_numbers_postgresql_writes_otherwise_take_the_python_path(submitter, token, odd):
    made = bare_version(month=date(2026, 1, 1), number=1, received_at=AS_OF, **odd)
    assert token[1].get("/api/submissions/").content == expected_page(submitter, token[0])
    stored = Submission.objects.get(pk=made.pk)  # as the database gives the JSON back
    assert (token[1].get(f"/api/submissions/{made.pk}/").content
            == JSONRenderer().render(SubmissionSerializer(stored).data))


def test_the_one_statement_path_is_taken_on_postgresql_only(token, monkeypatch,
                                                            django_assert_num_queries):
    many_versions(1)
    calls: list[dict] = []
    real = views.status_json_rows
    monkeypatch.setattr(views, "status_json_rows", lambda **kw: calls.append(kw) or real(**kw))
    token[1].get("/api/submissions/")  # the session prepares the statement the first time
    with django_assert_num_queries(1):
        assert token[1].get("/api/submissions/").status_code == 200
    assert bool(calls) == (connection.vendor == "postgresql")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statement")
def test_a_poll_prepares_its_statement_once_per_session_and_executes_it_after(
        token, django_assert_num_queries, monkeypatch):
    live = many_versions(1)[1]
    prepared.forget(connection, "dids_status_json_version")  # as on a new connection
    with django_assert_num_queries(1) as first:  # prepared and run in one round trip
        token[1].get(f"/api/submissions/{live.pk}/")
    assert first.captured_queries[0]["sql"].startswith("PREPARE dids_status_json_version")
    with django_assert_num_queries(1) as again:
        assert token[1].get(f"/api/submissions/{live.pk}/").json()["id"] == live.pk
    assert again.captured_queries[0]["sql"].startswith("EXECUTE dids_status_json_version")
    # Behind PgBouncer (DATABASE_POOLER sets this): no session of its own, the statement itself
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)
    with django_assert_num_queries(1) as pooled:
        assert token[1].get("/api/submissions/").status_code == 200
    assert pooled.captured_queries[0]["sql"].startswith("SELECT")


def test_another_organisations_version_is_still_a_404(token):
    other = bare_version(month=date(2026, 1, 1), number=1, received_at=AS_OF)
    Submission.objects.filter(pk=other.pk).update(organisation_id="RAJ")
    response = token[1].get(f"/api/submissions/{other.pk}/")
    assert response.status_code == 404 and b"RAJ" not in response.content
    assert token[1].get("/api/submissions/").json()["results"] == []


def test_a_revoked_token_is_refused_at_once(submitter, token):
    from accounts.services import api_token_revoke

    api_token_revoke(actor=submitter, token=token[0])
    assert token[1].get("/api/submissions/").status_code == 401


def test_an_accept_with_parameters_or_another_type_takes_drfs_negotiation(token):
    many_versions(1)
    assert token[1].get("/api/submissions/", HTTP_ACCEPT="text/html").status_code == 406
    indented = token[1].get("/api/submissions/", HTTP_ACCEPT="application/json; indent=2")
    assert indented.content.startswith(b'{\n  "next"')


@pytest.mark.parametrize("zone", ["America/St_Johns", "Asia/Kathmandu", "UTC"])
def test_times_are_in_the_current_time_zone_west_and_east_in_minutes(submitter, make_file, token,
                                                                     zone):
    varied_versions(submitter, make_file)
    with timezone.override(ZoneInfo(zone)):  # -03:30/-02:30, +05:45, Z
        assert token[1].get("/api/submissions/").content == expected_page(submitter, token[0])


def test_the_short_path_answers_with_drfs_headers_and_bytes(token):
    live = many_versions(1)[1]
    for url in ("/api/submissions/", f"/api/submissions/{live.pk}/"):
        short = token[1].get(url)
        drf = token[1].get(url, HTTP_ACCEPT="application/json; q=1")  # negotiated by DRF
        assert short.content == drf.content
        assert dict(short.headers) == dict(drf.headers)
