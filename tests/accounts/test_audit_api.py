"""The audit trail over the API: national users search and export it; providers see their own."""

from __future__ import annotations

import csv
import io

import pytest

from accounts.audit import audit_record
from accounts.choices import AuditAction
from accounts.models import AuditEvent

pytestmark = pytest.mark.django_db

URL = "/api/audit-events/"


@pytest.fixture
def events(submitter, other_provider_user):
    audit_record(actor=submitter, action=AuditAction.SUBMISSION_UPLOADED, organisation_code="RR8",
                 target="=HYPERLINK(\"http://x\")")
    audit_record(actor=other_provider_user, action=AuditAction.SUBMISSION_UPLOADED,
                 organisation_code="RCD", target="submission:2")


def _orgs(response) -> set[str]:
    return {e["organisation_code"] for e in response.json()["results"]}


def test_a_national_analyst_sees_every_organisations_events(api_client_for, analyst, events):
    response = api_client_for(analyst).get(URL, {"action": AuditAction.SUBMISSION_UPLOADED})
    assert response.status_code == 200
    assert _orgs(response) == {"RR8", "RCD"}


def test_a_provider_sees_only_its_own_organisations_events(api_client_for, colleague, events):
    response = api_client_for(colleague).get(URL)
    assert _orgs(response) == {"RR8"}
    assert api_client_for(colleague).get(URL, {"organisation": "RCD"}).json()["results"] == []


def test_a_reference_admin_sees_no_provider_events(api_client_for, reference_admin, events):
    assert api_client_for(reference_admin).get(URL).json()["results"] == []


def test_the_audit_trail_can_be_searched_by_actor(api_client_for, analyst, submitter, events):
    response = api_client_for(analyst).get(URL, {"actor": submitter.email.upper()})
    assert {e["actor_email"] for e in response.json()["results"]} == {submitter.email}


def test_the_export_is_formula_safe_and_itself_audited(api_client_for, analyst, events):
    response = api_client_for(analyst).get(URL + "export.csv", {"organisation": "RR8"})
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == "seq"
    assert len(rows) == 2
    assert rows[1][rows[0].index("target")] == "'=HYPERLINK(\"http://x\")"
    assert AuditEvent.objects.filter(action=AuditAction.AUDIT_EXPORTED).exists()


def test_anonymous_users_cannot_read_the_audit_trail(api_client_for, events):
    assert api_client_for(None).get(URL).status_code in (401, 403)


def test_a_date_filter_with_an_offset_beyond_what_postgresql_takes_still_answers(
        api_client_for, analyst, events):
    response = api_client_for(analyst).get("/api/audit-events/",
                                           {"occurred_after": "9999-06-21T20:18:20-17:53"})
    assert response.status_code == 200 and response.json()["results"] == []


def test_a_date_filter_past_the_year_9999_in_utc_is_a_400(api_client_for, analyst, events):
    response = api_client_for(analyst).get("/api/audit-events/",
                                           {"occurred_after": "9999-12-31T23:30:00-01:00"})
    assert response.status_code == 400


def test_a_date_filter_with_an_offset_finds_the_same_events_as_in_utc(api_client_for, analyst,
                                                                      events):
    client = api_client_for(analyst)
    local = client.get("/api/audit-events/", {"occurred_after": "2000-01-01T05:00:00+05:00"})
    utc = client.get("/api/audit-events/", {"occurred_after": "2000-01-01T00:00:00Z"})
    assert local.status_code == 200 and local.json() == utc.json()
