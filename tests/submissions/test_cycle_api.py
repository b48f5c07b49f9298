"""The monthly cycle's API: who may do what, and the other provider's 404s."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest

from submissions.cycle.services import period_cut_off
from submissions.cycle.timetable import default_deadlines
from submissions.models import CutOff, PeriodReopening
from tests.submissions.conftest import AS_OF, MONTH
from tests.submissions.cycle_helpers import submit_at

DEADLINES = default_deadlines(MONTH)


@pytest.fixture
def two_versions(submitter, make_file):
    old = submit_at(submitter, make_file(rows=5, seed=1), AS_OF)
    new = submit_at(submitter, make_file(rows=6, seed=2), AS_OF)
    return old, new


@pytest.fixture
def cutoff(two_versions):
    cutoff, _ = period_cut_off(actor=None, month=MONTH, kind="provisional",
                               now=DEADLINES.provisional + timedelta(minutes=1))
    return cutoff


@pytest.mark.django_db
def test_other_provider_gets_404_on_the_months_of_another_organisation(
        api_client_for, other_provider_user, two_versions):
    response = api_client_for(other_provider_user).get("/api/months/?organisation=RR8")
    assert response.status_code == 404


@pytest.mark.django_db
def test_other_provider_gets_404_on_a_version_diff(api_client_for, other_provider_user,
                                                   two_versions):
    old, new = two_versions
    response = api_client_for(other_provider_user).get(
        f"/api/submissions/{new.pk}/diff/?against={old.pk}")
    assert response.status_code == 404


@pytest.mark.django_db
def test_provider_sees_own_months_with_live_and_cutoff_versions(api_client_for, colleague, cutoff,
                                                                two_versions):
    response = api_client_for(colleague).get("/api/months/?start=2026-06&end=2026-06")
    assert response.status_code == 200
    june = response.json()["months"][0]
    assert june["month"] == "2026-06-01"
    assert june["live_version"] == 2
    assert june["cutoffs"]["provisional"]["version"] == 2


@pytest.mark.django_db
def test_provider_diff_between_own_versions(api_client_for, submitter, two_versions):
    old, new = two_versions
    body = api_client_for(submitter).get(
        f"/api/submissions/{new.pk}/diff/?against={old.pk}").json()
    assert body["added_count"] + body["changed_count"] >= 1
    assert {"site_code", "accession_number"} <= set((body["added"] or body["changed"])[0])
    assert sum(c["after"] for c in body["counts_by_modality"].values()) == 6


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/compliance/", "/api/compliance.csv", "/api/cutoffs/",
                                  "/api/cutoffs/2026-06/provisional/",
                                  "/api/periods/2026-06/reopenings/"])
def test_national_endpoints_are_refused_to_providers(api_client_for, submitter, cutoff, path):
    assert api_client_for(submitter).get(path).status_code == 403


@pytest.mark.django_db
def test_providers_get_published_statistics_only(api_client_for, submitter, analyst, cutoff):
    provider = api_client_for(submitter).get(
        "/api/cutoffs/2026-06/provisional/statistics/").json()
    national = api_client_for(analyst).get("/api/cutoffs/2026-06/provisional/statistics/").json()
    assert provider["by_provider"] == {"RR8": "*"}
    assert national["by_provider"] == {"RR8": 6}
    assert national["coverage"]["organisations_included"] == 1


@pytest.mark.django_db
def test_compliance_csv_cells_are_formula_safe(api_client_for, analyst, two_versions):
    from reference.models import Organisation

    Organisation.objects.filter(code="RR8").update(name="=HYPERLINK(\"http://x\")")
    response = api_client_for(analyst).get("/api/compliance.csv?start=2026-06&end=2026-06")
    text = b"".join(response.streaming_content).decode()
    assert "'=HYPERLINK" in text
    assert ",on_time," in text


@pytest.mark.django_db
def test_national_user_reopens_a_month_through_the_api(api_client_for, analyst):
    response = api_client_for(analyst).post("/api/periods/2026-06/reopenings/", {
        "organisation": "RR8", "reason": "RIS outage", "expires_at": "2099-01-31T12:00:00Z"},
        format="json")
    assert response.status_code == 201
    assert PeriodReopening.objects.get().granted_by == analyst


@pytest.mark.django_db
def test_national_user_edits_the_timetable_through_the_api(api_client_for, analyst, submitter):
    body = {"final_deadline": "2027-01-29T23:59:59Z", "change_reason": "Extended"}
    assert api_client_for(submitter).patch("/api/periods/2026-06/", body,
                                           format="json").status_code == 403
    response = api_client_for(analyst).patch("/api/periods/2026-06/", body, format="json")
    assert response.status_code == 200
    assert response.json()["final_deadline"].startswith("2027-01-29")


@pytest.mark.django_db
def test_running_a_cutoff_through_the_api_is_idempotent(api_client_for, analyst, two_versions):
    import time_machine

    client = api_client_for(analyst)
    with time_machine.travel(DEADLINES.provisional + timedelta(hours=1), tick=False):
        first = client.post("/api/cutoffs/", {"month": "2026-06", "kind": "provisional"},
                            format="json")
        again = client.post("/api/cutoffs/", {"month": "2026-06", "kind": "provisional"},
                            format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert CutOff.objects.count() == 1


@pytest.mark.django_db
def test_extract_download_is_for_national_analysts_only(api_client_for, analyst, submitter, cutoff,
                                                        settings,
                                                        django_capture_on_commit_callbacks):
    settings.DIDS_PSEUDONYM_KEY = "an-api-test-pseudonym-key-of-32-bytes"
    with django_capture_on_commit_callbacks(execute=True):
        created = api_client_for(analyst).post("/api/cutoffs/2026-06/provisional/extracts/",
                                               {"format": "csv"}, format="json")
    assert created.status_code == 202
    pk = created.json()["id"]
    assert api_client_for(analyst).get(f"/api/extracts/{pk}/").json()["state"] == "done"
    assert api_client_for(submitter).get(f"/api/extracts/{pk}/download/").status_code == 403
    download = api_client_for(analyst).get(f"/api/extracts/{pk}/download/")
    assert download.status_code == 200
    assert b"nhs_number_pseudonym" in b"".join(download.streaming_content)


@pytest.mark.django_db
def test_compliance_api_query_count_does_not_grow_with_organisations(
        api_client_for, analyst, two_versions, django_assert_max_num_queries):
    client = api_client_for(analyst)
    client.get("/api/compliance/?start=2026-01&end=2026-06")  # warm the user's role cache
    with django_assert_max_num_queries(8):
        response = client.get("/api/compliance/?start=2026-01&end=2026-06")
    assert response.status_code == 200
    assert len(response.json()["months"]) == 6


@pytest.mark.django_db
def test_setup_cycle_schedule_registers_the_beat_tasks_once():
    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    call_command("setup_cycle_schedule", stdout=StringIO())
    call_command("setup_cycle_schedule", stdout=StringIO())
    tasks = dict(PeriodicTask.objects.values_list("task", "enabled"))
    assert tasks == {"submissions.tasks.recover_stalled_submissions": True,
                     "submissions.tasks.recover_stalled_extracts": True,
                     "submissions.tasks.run_due_cutoffs": True,
                     "submissions.tasks.send_deadline_reminders": True,
                     "submissions.tasks.archive_superseded_records": True,
                     "submissions.tasks.compact_record_partitions": True}
