"""The national month in pages: timetable and deadlines, reopenings, cut-offs with their
manifests, and extracts, through Django's test client."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from submissions.cycle.services import period_cut_off, period_reopen
from submissions.cycle.timetable import default_deadlines
from submissions.models import CutOff, Extract, PeriodReopening, ReportingPeriod
from tests.submissions.conftest import AS_OF, MONTH
from tests.submissions.cycle_helpers import submit_at

pytestmark = pytest.mark.django_db

DEADLINES = default_deadlines(MONTH)
PAGES = ["national:timetable", "national:reopenings", "national:cutoffs", "national:extracts"]



@pytest.fixture
def live(submitter, make_file):
    return submit_at(submitter, make_file(rows=6, seed=1), AS_OF)


@pytest.fixture
def provisional(live):
    cutoff, _ = period_cut_off(actor=None, month=MONTH, kind="provisional",
                               now=DEADLINES.provisional + timedelta(minutes=1))
    return cutoff


# Who may see them ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", PAGES)
def test_national_month_pages_are_404_for_providers(client_for, submitter, name):
    assert client_for(submitter).get(reverse(name)).status_code == 404


def test_cutoff_page_and_actions_are_404_for_providers(client_for, submitter, provisional):
    client = client_for(submitter)
    assert client.get(reverse("national:cutoff", args=["2026-06", "provisional"])).status_code == 404
    assert client.post(reverse("national:cutoff-run", args=["2026-06", "final"])).status_code == 404
    assert client.get(reverse("national:deadline-edit", args=["2026-06"])).status_code == 404


@pytest.mark.parametrize("name", PAGES)
def test_analyst_sees_the_national_month_pages(client_for, analyst, provisional, name):
    assert client_for(analyst).get(reverse(name)).status_code == 200


def test_the_national_menu_holds_every_national_page(client_for, analyst):
    response = client_for(analyst).get(reverse("national:home"))
    hrefs = [item["href"] for item in response.context["portal_navigation"]]
    for name in ["national:compliance", "national:quality", "national:statistics", *PAGES,
                 "national:audit"]:
        assert reverse(name) in hrefs


# The timetable ---------------------------------------------------------------------------------

def test_timetable_shows_each_months_deadlines_and_state(client_for, analyst, provisional):
    months = client_for(analyst).get(reverse("national:timetable")).context["months"]
    june = next(m for m in months if m.month == MONTH)
    assert june.label == "Provisional taken"
    assert june.provisional_deadline == DEADLINES.provisional
    assert june.editable == {"provisional": False, "final": True}
    assert next(m for m in months if m.month == MONTH.replace(month=11)).label == "Open"


def test_timetable_query_count_does_not_grow_with_months(client_for, analyst, provisional,
                                                         django_assert_max_num_queries):
    client = client_for(analyst)
    client.get(reverse("national:timetable"))
    with django_assert_max_num_queries(12):
        client.get(reverse("national:timetable"))


def test_analyst_changes_a_deadline_with_a_reason_audited_before_and_after(client_for, analyst):
    new_final = (DEADLINES.final + timedelta(days=3)).astimezone(timezone.get_current_timezone())
    response = client_for(analyst).post(reverse("national:deadline-edit", args=["2026-06"]), {
        "provisional_deadline": timezone.localtime(DEADLINES.provisional).strftime("%Y-%m-%dT%H:%M:%S"),
        "final_deadline": new_final.strftime("%Y-%m-%dT%H:%M:%S"),
        "change_reason": "Bank holiday moved"})
    assert response.status_code == 302
    period = ReportingPeriod.objects.get(activity_month=MONTH)
    assert period.final_deadline == DEADLINES.final + timedelta(days=3)
    assert period.history.first().history_change_reason == "Bank holiday moved"
    event = AuditEvent.objects.filter(target="period:2026-06").order_by("-seq").first()
    assert event.after["final_deadline"] == period.final_deadline.isoformat()
    assert event.after["reason"] == "Bank holiday moved"


def test_a_deadline_change_needs_a_reason(client_for, analyst):
    response = client_for(analyst).post(reverse("national:deadline-edit", args=["2026-06"]), {
        "provisional_deadline": "2026-08-03T23:59:59", "final_deadline": "2026-12-31T23:59:59",
        "change_reason": ""})
    assert response.status_code == 200
    assert "Enter the reason for the change" in response.content.decode()
    assert not ReportingPeriod.objects.filter(activity_month=MONTH,
                                              final_deadline__day=31).exists()


def test_the_deadline_of_a_cutoff_that_ran_cannot_move(client_for, analyst, provisional):
    before = provisional.deadline
    response = client_for(analyst).post(reverse("national:deadline-edit", args=["2026-06"]), {
        "provisional_deadline": "2026-09-30T23:59:59",
        "final_deadline": timezone.localtime(DEADLINES.final).strftime("%Y-%m-%dT%H:%M:%S"),
        "change_reason": "Try to move it"})
    assert response.status_code == 302
    assert ReportingPeriod.objects.get(activity_month=MONTH).provisional_deadline == before
    page = client_for(analyst).get(reverse("national:deadline-edit", args=["2026-06"]))
    assert "The provisional cut-off has run, so that deadline can no longer change." \
        in page.content.decode()


def test_deadline_page_of_a_malformed_month_is_404(client_for, analyst):
    assert client_for(analyst).get("/national/timetable/2026-13/").status_code == 404


# Reopenings ------------------------------------------------------------------------------------

def test_analyst_grants_a_reopening_from_the_page(client_for, analyst, rr8):
    until = timezone.localtime(timezone.now() + timedelta(days=7))
    response = client_for(analyst).post(reverse("national:reopenings"), {
        "organisation": "RR8", "month": "2026-06", "reason": "Late RIS fix",
        "expires_at": until.strftime("%Y-%m-%dT%H:%M:%S")})
    assert response.status_code == 302
    reopening = PeriodReopening.objects.get()
    assert (reopening.organisation_id, reopening.reason, reopening.granted_by) == (
        "RR8", "Late RIS fix", analyst)
    page = client_for(analyst).get(reverse("national:reopenings"))
    assert page.context["current"] == [reopening]


def test_a_reopening_must_end_in_the_future(client_for, analyst, rr8):
    response = client_for(analyst).post(reverse("national:reopenings"), {
        "organisation": "RR8", "month": "2026-06", "reason": "Late RIS fix",
        "expires_at": "2020-01-01T00:00:00"})
    assert response.status_code == 200
    assert "The reopening must expire in the future." in response.content.decode()
    assert not PeriodReopening.objects.exists()


def test_analyst_ends_a_reopening_early_audited(client_for, analyst, rr8):
    reopening = period_reopen(actor=analyst, organisation_code="RR8", month=MONTH,
                              reason="Late RIS fix",
                              expires_at=timezone.now() + timedelta(days=7))
    response = client_for(analyst).post(reverse("national:reopening-end", args=[reopening.pk]),
                                       {"reason": "File received"})
    assert response.status_code == 302
    reopening.refresh_from_db()
    assert not reopening.is_current()
    assert (reopening.ended_by, reopening.end_reason) == (analyst, "File received")
    event = AuditEvent.objects.get(action="period_reopening_ended")
    assert event.before["expires_at"] != event.after["expires_at"]
    page = client_for(analyst).get(reverse("national:reopenings"))
    assert page.context["past"] == [reopening]
    assert "Ended early" in page.content.decode()


def test_ending_a_reopening_needs_a_reason(client_for, analyst, rr8):
    reopening = period_reopen(actor=analyst, organisation_code="RR8", month=MONTH,
                              reason="Late RIS fix",
                              expires_at=timezone.now() + timedelta(days=7))
    client_for(analyst).post(reverse("national:reopening-end", args=[reopening.pk]),
                            {"reason": ""})
    reopening.refresh_from_db()
    assert reopening.is_current()


# Cut-offs --------------------------------------------------------------------------------------

def test_cutoff_list_shows_those_that_ran_and_the_next_due(client_for, analyst, provisional):
    schedule = client_for(analyst).get(reverse("national:cutoffs")).context["schedule"]
    assert [s.cutoff for s in schedule.taken] == [provisional]
    assert schedule.upcoming
    assert all(s.deadline > timezone.now() for s in schedule.upcoming)
    assert schedule.upcoming == sorted(schedule.upcoming, key=lambda s: s.deadline)


def test_manifest_page_shows_each_organisations_version(client_for, analyst, live, provisional):
    response = client_for(analyst).get(reverse("national:cutoff", args=["2026-06", "provisional"]))
    body = response.content.decode()
    [row] = response.context["rows"]
    assert (row.organisation, row.submission_id, row.version, row.rows, row.sha256) == (
        "RR8", live.pk, live.version, 6, live.sha256)
    assert provisional.records_checksum in body
    assert "?month=2026-06" in body


def test_final_cutoff_page_says_what_changed_since_the_provisional(client_for, analyst, submitter,
                                                                   make_file, provisional):
    late = submit_at(submitter, make_file(rows=9, seed=4), DEADLINES.provisional + timedelta(days=2))
    final, _ = period_cut_off(actor=None, month=MONTH, kind="final",
                              now=DEADLINES.final + timedelta(minutes=1))
    changes = client_for(analyst).get(
        reverse("national:cutoff", args=["2026-06", "final"])).context["changes"]
    assert changes.replaced == [{"organisation": "RR8", "from_version": 1,
                                 "to_version": late.version, "rows_before": 6, "rows_after": 9,
                                 "rows_change": 3}]
    assert (changes.records_before, changes.records_after, changes.records_gained) == (6, 9, 3)
    assert final.record_count == 9


def test_cutoff_not_yet_due_says_why_it_cannot_run(client_for, analyst, live):
    response = client_for(analyst).get(reverse("national:cutoff", args=["2026-06", "final"]))
    assert not response.context["readiness"].can_run
    assert "has not passed yet" in response.context["readiness"].reason
    refused = client_for(analyst).post(reverse("national:cutoff-run", args=["2026-06", "final"]),
                                      follow=True)
    assert "its cut-off can run only after it" in refused.content.decode()
    assert not CutOff.objects.exists()


def test_cutoff_with_versions_processing_says_why_it_cannot_run(client_for, analyst, submitter,
                                                                make_file):
    submit_at(submitter, make_file(rows=3), AS_OF, process=False)
    response = client_for(analyst).get(reverse("national:cutoff", args=["2026-06", "provisional"]))
    assert "1 version received before the deadline is still being processed" in \
        response.context["readiness"].reason


def test_analyst_runs_a_due_cutoff_from_its_page(client_for, analyst, live):
    client = client_for(analyst)
    page = client.get(reverse("national:cutoff", args=["2026-06", "provisional"]))
    assert page.context["readiness"].can_run
    response = client.post(reverse("national:cutoff-run", args=["2026-06", "provisional"]),
                           follow=True)
    cutoff = CutOff.objects.get()
    assert (cutoff.kind, cutoff.record_count, cutoff.run_by) == ("provisional", 6, analyst)
    assert "took 6 records" in response.content.decode()


def test_a_malformed_cutoff_kind_is_404(client_for, analyst):
    assert client_for(analyst).get("/national/cutoffs/2026-06/interim/").status_code == 404


# Extracts --------------------------------------------------------------------------------------

def test_extracts_page_says_when_extracts_are_switched_off(client_for, analyst, settings,
                                                           provisional):
    settings.DIDS_PSEUDONYM_KEY = ""
    response = client_for(analyst).get(reverse("national:extracts"))
    assert "Extracts are switched off" in response.content.decode()
    assert "DIDS_PSEUDONYM_KEY" in response.content.decode()


def test_analyst_makes_an_extract_and_downloads_it(client_for, analyst, settings, provisional,
                                                   django_capture_on_commit_callbacks):
    settings.DIDS_PSEUDONYM_KEY = "k" * 32
    client = client_for(analyst)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("national:extracts"),
                               {"cutoff": "2026-06/provisional", "format": "csv"})
    assert response.status_code == 302
    extract = Extract.objects.get()
    assert (extract.state, extract.rows_done, extract.requested_by) == ("done", 6, analyst)
    page = client.get(reverse("national:extracts"))
    assert page.context["refresh_seconds"] is None
    download = client.get(reverse("national:extract-download", args=[extract.pk]))
    assert download.status_code == 200
    assert download["Cache-Control"] == "no-store, private"
    body = b"".join(download.streaming_content)
    assert b"nhs_number_pseudonym" in body
    assert AuditEvent.objects.filter(action="patient_data_downloaded",
                                     target=f"extract:{extract.pk}").exists()


def test_extracts_page_refreshes_while_an_extract_is_being_made(client_for, analyst, settings,
                                                                provisional):
    settings.DIDS_PSEUDONYM_KEY = "k" * 32
    Extract.objects.create(cutoff=provisional, format="csv", requested_by=analyst, rows_total=6)
    response = client_for(analyst).get(reverse("national:extracts"))
    assert response.context["refresh_seconds"] == 3
    assert '<meta http-equiv="refresh" content="3">' in response.content.decode()


def test_an_unfinished_extract_cannot_be_downloaded(client_for, analyst, provisional):
    extract = Extract.objects.create(cutoff=provisional, format="csv", requested_by=analyst)
    assert client_for(analyst).get(
        reverse("national:extract-download", args=[extract.pk])).status_code == 404


def test_page_actions_record_the_address_they_came_from(client_for, analyst, live):
    client = client_for(analyst)
    client.post(reverse("national:cutoff-run", args=["2026-06", "provisional"]),
                REMOTE_ADDR="192.0.2.7")
    event = AuditEvent.objects.get(action="period_cut_off")
    assert event.ip_address == "192.0.2.7"
