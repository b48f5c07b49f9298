"""The monthly cycle's audit events: what changed before and after, and the caller's address."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from accounts.choices import AuditAction
from accounts.models import AuditEvent
from submissions.cycle.services import period_cut_off, period_update
from submissions.cycle.timetable import default_deadlines
from tests.submissions.conftest import AS_OF, MONTH
from tests.submissions.cycle_helpers import submit_at

pytestmark = pytest.mark.django_db

DEADLINES = default_deadlines(MONTH)
KEY = "a-pseudonym-key-of-thirty-two-bytes!"


@pytest.fixture
def submitted(submitter, make_file):
    return submit_at(submitter, make_file(rows=5, seed=1), AS_OF)


def test_a_timetable_change_records_the_deadlines_before_it(analyst) -> None:
    period_update(actor=analyst, month=MONTH, final_deadline=DEADLINES.final + timedelta(days=3),
                  reason="Extended")
    event = AuditEvent.objects.get(action=AuditAction.REFERENCE_CHANGED, target="period:2026-06")
    assert event.before["final_deadline"] == DEADLINES.final.isoformat()
    assert event.after["final_deadline"] == (DEADLINES.final + timedelta(days=3)).isoformat()


def test_a_timetable_change_through_the_api_records_the_address(api_client_for, analyst) -> None:
    api_client_for(analyst).patch("/api/periods/2026-06/", {"notes": "Bank holiday",
                                                           "change_reason": "Note"},
                                  format="json", REMOTE_ADDR="192.0.2.41")
    event = AuditEvent.objects.get(action=AuditAction.REFERENCE_CHANGED, target="period:2026-06")
    assert event.ip_address == "192.0.2.41"
    assert (event.before["notes"], event.after["notes"]) == ("", "Bank holiday")


def test_a_cut_off_through_the_api_records_the_address_and_the_whole_checksum(
        api_client_for, analyst, submitted) -> None:
    with time_machine.travel(DEADLINES.provisional + timedelta(hours=1), tick=False):
        response = api_client_for(analyst).post(
            "/api/cutoffs/", {"month": "2026-06", "kind": "provisional"}, format="json",
            REMOTE_ADDR="192.0.2.42")
    assert response.status_code == 201
    event = AuditEvent.objects.get(action=AuditAction.PERIOD_CUT_OFF)
    assert event.ip_address == "192.0.2.42"
    assert event.after["records_checksum"] == response.json()["records_checksum"]


def test_a_checksum_starting_with_ten_digits_is_audited_whole(analyst, submitted,
                                                              monkeypatch) -> None:
    from submissions.cycle import services

    real_scan = services.product_scan
    monkeypatch.setattr(services, "product_scan",
                        lambda ids, **kw: {**real_scan(ids, **kw), "checksum": "2575674446d6ba71"})
    period_cut_off(actor=analyst, month=MONTH, kind="provisional",
                   now=DEADLINES.provisional + timedelta(minutes=1))
    event = AuditEvent.objects.get(action=AuditAction.PERIOD_CUT_OFF)
    assert event.after["records_checksum"] == "2575674446d6ba71"


def test_an_extract_request_through_the_api_records_the_address(
        api_client_for, analyst, submitted, settings, django_capture_on_commit_callbacks) -> None:
    settings.DIDS_PSEUDONYM_KEY = KEY
    period_cut_off(actor=None, month=MONTH, kind="provisional",
                   now=DEADLINES.provisional + timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(analyst).post("/api/cutoffs/2026-06/provisional/extracts/",
                                                {"format": "csv"}, format="json",
                                                REMOTE_ADDR="192.0.2.43")
    assert response.status_code == 202
    assert AuditEvent.objects.get(action=AuditAction.EXPORT_CREATED).ip_address == "192.0.2.43"


def test_a_reopening_through_the_api_records_the_address(api_client_for, analyst, rr8) -> None:
    response = api_client_for(analyst).post(
        "/api/periods/2026-06/reopenings/",
        {"organisation": "RR8", "reason": "Late file agreed",
         "expires_at": (AS_OF + timedelta(days=400)).isoformat()},
        format="json", REMOTE_ADDR="192.0.2.44")
    assert response.status_code == 201
    assert AuditEvent.objects.get(action=AuditAction.PERIOD_REOPENED).ip_address == "192.0.2.44"
