"""The read replica: national pages read from the ``replica`` alias, uploads write to
``default``, and without a replica everything stays on ``default``.

The replica here is a second alias on the same test database (``settings_test``), so the
queries of each alias are seen apart while the data is the same."""

from __future__ import annotations

import re

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from dids_portal.db_router import WROTE_AT, ReplicaRouter, read_alias, replica_reads
from submissions.models import Submission
from tests.submissions.conftest import AS_OF
from tests.submissions.cycle_helpers import submit_at
from tests.submissions.test_api import upload

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


def _submissions_reads(queries: list[dict[str, str]]) -> list[str]:
    return [q["sql"] for q in queries
            if '"submissions_' in q["sql"] and q["sql"].lstrip().upper().startswith("SELECT")]


def test_without_a_replica_reads_stay_on_default(settings) -> None:
    settings.DIDS_READ_REPLICA = ""
    with replica_reads():
        assert read_alias() == "default"
        assert ReplicaRouter().db_for_read(Submission) == "default"


def test_accounts_and_writes_never_go_to_the_replica(settings) -> None:
    from accounts.models import User

    settings.DIDS_READ_REPLICA = "replica"
    router = ReplicaRouter()
    with replica_reads():
        assert router.db_for_read(Submission) == "replica"
        assert router.db_for_read(User) == "default"
        assert router.db_for_write(Submission) == "default"
    assert router.db_for_read(Submission) == "default"
    assert not router.allow_migrate("replica", "submissions")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_a_national_page_reads_the_collection_from_the_replica(client_for, analyst, submitter,
                                                               make_file, settings) -> None:
    settings.DIDS_READ_REPLICA = "replica"
    submit_at(submitter, make_file(rows=5, seed=3), AS_OF)
    client = client_for(analyst)
    with CaptureQueriesContext(connections["default"]) as on_default, \
            CaptureQueriesContext(connections["replica"]) as on_replica:
        response = client.get("/national/quality/")
    assert response.status_code == 200
    assert _submissions_reads(on_replica.captured_queries)
    assert not _submissions_reads(on_default.captured_queries)
    assert not [q for q in on_replica.captured_queries if WRITE.match(q["sql"])]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_a_user_who_just_changed_something_reads_national_pages_from_default(
        client_for, analyst, settings) -> None:
    settings.DIDS_READ_REPLICA = "replica"
    client = client_for(analyst)
    response = client.post("/national/cutoffs/2026-06/provisional/run/")
    assert response.status_code < 400
    assert isinstance(client.session[WROTE_AT], float)
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        assert client.get("/national/quality/").status_code == 200
    assert on_replica.captured_queries == []
    settings.DIDS_REPLICA_AFTER_WRITE_SECONDS = 0
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        assert client.get("/national/quality/").status_code == 200
    assert _submissions_reads(on_replica.captured_queries)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_a_provider_upload_writes_to_default_and_reads_nothing_from_the_replica(
        api_client_for, submitter, make_file, settings) -> None:
    settings.DIDS_READ_REPLICA = "replica"
    with CaptureQueriesContext(connections["default"]) as on_default, \
            CaptureQueriesContext(connections["replica"]) as on_replica:
        response = upload(api_client_for(submitter), make_file(rows=5, seed=4))
    assert response.status_code == 201, response.content
    assert [q for q in on_default.captured_queries
            if q["sql"].lstrip().startswith('INSERT INTO "submissions_submission"')]
    assert on_replica.captured_queries == []
