"""The national pages' reports: who still owes a month (the chase list), the CSV downloads of
the compliance register, the chase list, the statistics tables and the audit list, the
statistics month picker, and data quality of every provider in scope."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from accounts.choices import Role
from accounts.models import User
from reference.models import Organisation
from submissions.cycle.selectors import chase_list
from submissions.cycle.services import period_cut_off, period_ensure
from submissions.models import Reminder, Submission
from submissions.services import submission_create
from tests.accounts.factories import MembershipFactory, UserFactory
from tests.reference.factories import OrganisationFactory
from tests.submissions.conftest import AS_OF, MONTH, upload_of
from tests.submissions.cycle_helpers import hand_file

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
MAY = date(2026, 5, 1)
CSV_ROUTES = ["national:compliance-csv", "national:owing-csv", "national:activity-csv",
              "national:waits-csv", "national:audit-csv"]
# Waits by hand (June): CT request -> test 10, 20, 30; MRI 5.
HAND_ROWS = [{"modality": "CT", "request": 10, "report": 1},
             {"modality": "CT", "request": 20, "report": 2},
             {"modality": "CT", "request": 30, "report": 3},
             {"modality": "MRI", "request": 5, "report": 4}]


@pytest.fixture(autouse=True)
def _frozen_time():
    # July 2026: June is over and due (nothing is missing before its final deadline).
    with time_machine.travel(AS_OF, tick=True):
        yield



@pytest.fixture
def submit(submitter: User, django_capture_on_commit_callbacks) -> Callable[..., Submission]:
    def make(path: Path, *, org: str = "RR8", month: date = MONTH,
             actor: User | None = None) -> Submission:
        with django_capture_on_commit_callbacks(execute=True):
            submission, _ = submission_create(actor=actor or submitter, organisation_code=org,
                                              activity_month=month, upload=upload_of(path),
                                              original_name=path.name, as_of=AS_OF)
        submission.refresh_from_db()
        return submission

    return make


def remind(code: str, kind: str, sent_at: datetime, *, month: date = MONTH,
           recipients: int = 1) -> Reminder:
    return Reminder.objects.create(period=period_ensure(month=month), kind=kind,
                                   organisation_id=code, sent_at=sent_at, recipients=recipients)


def csv_of(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


# The chase list ---------------------------------------------------------------------------------


def test_chase_list_names_the_providers_with_nothing_accepted_for_the_month(
    submitter: User, other_provider_user: User, submit, make_file, bad_file: Path
) -> None:
    submit(make_file(10))
    submit(bad_file, org="RCD", actor=other_provider_user)
    states = {row.organisation_code: row.state for row in chase_list(month="2026-06").rows}
    assert "RR8" not in states
    assert states["RCD"] == "rejected_only"
    assert states["RJ1"] == "due"


def test_chase_list_of_a_month_not_over_is_empty(sample_reference: None) -> None:
    assert chase_list(month="2026-07").rows == []


def test_chase_list_gives_the_addresses_of_the_active_provider_users(
    submitter: User, colleague: User, analyst: User
) -> None:
    gone = UserFactory(email="left@rr8.example.nhs.uk", is_active=False)
    MembershipFactory(user=gone, role=Role.PROVIDER_SUBMITTER, organisation_id="RR8")
    rows = {row.organisation_code: row for row in chase_list(month=MONTH).rows}
    assert rows["RR8"].emails == ["submitter@rr8.example.nhs.uk", "viewer@rr8.example.nhs.uk"]
    assert rows["RJ1"].emails == []


def test_chase_list_shows_the_last_reminder_of_that_month(sample_reference: None) -> None:
    remind("RJ1", "provisional", datetime(2026, 7, 24, 9, tzinfo=LONDON), recipients=2)
    remind("RJ1", "final", datetime(2026, 12, 24, 9, tzinfo=LONDON), month=MAY)
    rows = {row.organisation_code: row for row in chase_list(month=MONTH).rows}
    assert rows["RJ1"].reminded_at == datetime(2026, 7, 24, 9, tzinfo=LONDON)
    assert (rows["RJ1"].reminded_kind, rows["RJ1"].reminded_recipients) == ("provisional", 2)
    assert rows["RXH"].reminded_at is None


def test_chase_list_keeps_the_newest_of_several_reminders(sample_reference: None) -> None:
    remind("RJ1", "final", datetime(2026, 12, 24, 9, tzinfo=LONDON))
    remind("RJ1", "provisional", datetime(2026, 7, 24, 9, tzinfo=LONDON))
    row = next(r for r in chase_list(month=MONTH).rows if r.organisation_code == "RJ1")
    assert row.reminded_kind == "final"


def test_chase_list_filters_by_region_and_type(rr8: Organisation) -> None:
    by_region = chase_list(month=MONTH, region=rr8.region).rows
    by_type = chase_list(month=MONTH, organisation_type="foundation_trust").rows
    assert {r.region for r in by_region} == {rr8.region}
    assert {r.type for r in by_type} == {"foundation_trust"}


# The compliance page and its downloads -----------------------------------------------------------


def test_compliance_page_lists_who_still_owes_the_chosen_month(
    client_for, analyst: User, submitter: User
) -> None:
    remind("RR8", "provisional", datetime(2026, 7, 24, 9, tzinfo=LONDON))
    response = client_for(analyst).get(reverse("national:compliance"), {"month": "2026-06"})
    html = response.content.decode()
    assert response.context["chase"].month == MONTH
    assert 'data-testid="owing-RR8"' in html
    assert 'href="mailto:submitter@rr8.example.nhs.uk"' in html
    assert "24 Jul 2026, 09:00" in html


def test_compliance_page_chases_last_month_by_default(client_for, analyst: User) -> None:
    response = client_for(analyst).get(reverse("national:compliance"))
    assert response.context["chase"].month == MONTH


def test_compliance_page_says_nobody_owes_a_month_not_over(client_for, analyst: User) -> None:
    response = client_for(analyst).get(reverse("national:compliance"), {"month": "2026-07"})
    assert "No provider owes July 2026: the month is not over yet" in response.content.decode()


@pytest.mark.parametrize("month", ["June", "0001-01", "9999-12"])
@pytest.mark.parametrize("name", ["national:compliance", "national:owing-csv"])
def test_compliance_page_with_a_malformed_or_impossible_month_is_404(
    client_for, analyst: User, name: str, month: str
) -> None:
    response = client_for(analyst).get(reverse(name), {"month": month})
    assert response.status_code == 404


def test_compliance_page_links_its_downloads_with_its_filter(client_for, analyst: User,
                                                             rr8: Organisation) -> None:
    response = client_for(analyst).get(reverse("national:compliance"),
                                       {"type": "nhs_trust", "month": "2026-05"})
    html = response.content.decode()
    assert 'href="/national/compliance.csv?type=nhs_trust"' in html
    assert 'href="/national/compliance/owing.csv?type=nhs_trust&amp;month=2026-05"' in html


@pytest.mark.parametrize("name", CSV_ROUTES)
def test_national_csv_is_an_uncached_attachment(client_for, analyst: User, name: str) -> None:
    response = client_for(analyst).get(reverse(name))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="dids-')
    assert response["Cache-Control"] == "no-store, private"


@pytest.mark.parametrize("name", CSV_ROUTES)
def test_national_csv_is_404_for_providers(client_for, submitter: User, name: str) -> None:
    assert client_for(submitter).get(reverse(name)).status_code == 404


def test_compliance_csv_has_a_row_per_provider_and_month_of_the_page(
    client_for, analyst: User, submitter: User, submit, make_file
) -> None:
    submit(make_file(10))
    rows = csv_of(client_for(analyst).get(reverse("national:compliance-csv"),
                                          {"type": "nhs_trust"}))
    assert {r["type"] for r in rows} == {"nhs_trust"}
    assert {r["month"] for r in rows} == {"2026-02", "2026-03", "2026-04", "2026-05",
                                          "2026-06", "2026-07"}
    june = next(r for r in rows if r["organisation"] == "RR8" and r["month"] == "2026-06")
    assert (june["state"], june["live_version"]) == ("on_time", "1")


def test_owing_csv_lists_the_chase_list_with_addresses_and_reminders(
    client_for, analyst: User, submitter: User, colleague: User
) -> None:
    remind("RR8", "provisional", datetime(2026, 7, 24, 9, tzinfo=LONDON), recipients=2)
    response = client_for(analyst).get(reverse("national:owing-csv"), {"month": "2026-06"})
    assert response["Content-Disposition"] == 'attachment; filename="dids-owing-2026-06.csv"'
    rows = {r["organisation"]: r for r in csv_of(response)}
    assert rows["RR8"]["emails"] == "submitter@rr8.example.nhs.uk; viewer@rr8.example.nhs.uk"
    assert rows["RR8"]["last_reminder_sent_at"] == "2026-07-24T08:00:00+00:00"
    assert rows["RR8"]["last_reminder_recipients"] == "2"
    assert rows["RJ1"]["state"] == "due"


def test_owing_csv_cells_are_formula_safe(client_for, analyst: User) -> None:
    Organisation.objects.filter(code="RJ1").update(name='=HYPERLINK("http://x")')
    response = client_for(analyst).get(reverse("national:owing-csv"))
    rows = {r["organisation"]: r for r in csv_of(response)}
    assert rows["RJ1"]["name"] == "'=HYPERLINK(\"http://x\")"


@pytest.mark.parametrize("providers", [0, 6])
def test_compliance_page_query_count_does_not_grow_with_owing_providers(
    client_for, analyst: User, django_assert_max_num_queries, providers: int
) -> None:
    for n in range(providers):
        organisation = OrganisationFactory(code=f"T{n:02d}")
        for role in (Role.PROVIDER_SUBMITTER, Role.PROVIDER_VIEWER):
            MembershipFactory(organisation=organisation, role=role)
        remind(organisation.code, "provisional", datetime(2026, 7, 24, 9, tzinfo=LONDON))
    client = client_for(analyst)
    client.get(reverse("national:compliance"))  # warm the user's role cache
    # session, user, second factor, roles; regions; the chase list (periods, providers,
    # versions, users, reminders); the matrix (periods, providers, versions); session save (3)
    with django_assert_max_num_queries(16):
        response = client.get(reverse("national:compliance"))
    assert len(response.context["chase"].rows) >= providers


@pytest.mark.parametrize("providers", [0, 6])
def test_owing_csv_query_count_does_not_grow_with_owing_providers(
    client_for, analyst: User, django_assert_max_num_queries, providers: int
) -> None:
    for n in range(providers):
        organisation = OrganisationFactory(code=f"T{n:02d}")
        MembershipFactory(organisation=organisation, role=Role.PROVIDER_SUBMITTER)
        remind(organisation.code, "provisional", datetime(2026, 7, 24, 9, tzinfo=LONDON))
    client = client_for(analyst)
    client.get(reverse("national:owing-csv"))
    # session, user, second factor, roles; regions; periods, providers, versions, users,
    # reminders; session save (3)
    with django_assert_max_num_queries(13):
        response = client.get(reverse("national:owing-csv"))
        rows = csv_of(response)
    assert len(rows) >= providers


# The API's chase list ----------------------------------------------------------------------------


def test_api_lists_who_still_owes_a_month(api_client_for, analyst: User, submitter: User) -> None:
    body = api_client_for(analyst).get("/api/compliance/owing/?month=2026-06").json()
    rows = {row["organisation_code"]: row for row in body["rows"]}
    assert body["month"] == "2026-06-01"
    assert rows["RR8"]["emails"] == ["submitter@rr8.example.nhs.uk"]


def test_api_owing_csv_is_an_uncached_attachment(api_client_for, analyst: User) -> None:
    response = api_client_for(analyst).get("/api/compliance/owing.csv?month=2026-06")
    assert response["Content-Disposition"] == 'attachment; filename="dids-owing-2026-06.csv"'
    assert response["Cache-Control"] == "no-store, private"
    assert {r["organisation"] for r in csv_of(response)} >= {"RR8", "RJ1"}


@pytest.mark.parametrize("path", ["/api/compliance/owing/", "/api/compliance/owing.csv"])
def test_api_chase_list_is_refused_to_providers(api_client_for, submitter: User,
                                                path: str) -> None:
    assert api_client_for(submitter).get(path).status_code == 403


# The audit download ------------------------------------------------------------------------------


def test_audit_csv_lists_every_version_with_the_page_filter(
    client_for, analyst: User, submitter: User, other_provider_user: User, submit, make_file,
    bad_file: Path
) -> None:
    first = submit(make_file(5, seed=1))
    second = submit(make_file(6, seed=2))
    submit(bad_file, org="RCD", actor=other_provider_user)
    client = client_for(analyst)
    everything = csv_of(client.get(reverse("national:audit-csv")))
    response = client.get(reverse("national:audit-csv"), {"organisation": "rr8"})
    rows = csv_of(response)
    assert len(everything) == 3
    assert response["Content-Disposition"] == 'attachment; filename="dids-audit-RR8.csv"'
    assert [(r["version"], r["live"]) for r in rows] == [("2", "yes"), ("1", "no")]
    assert rows[0]["sent_by"] == "submitter@rr8.example.nhs.uk"
    assert {r["sha256"] for r in rows} == {first.sha256, second.sha256}


def test_audit_csv_cells_are_formula_safe(client_for, analyst: User, submitter: User,
                                          tmp_path: Path, make_file, submit) -> None:
    path = make_file(5)
    evil = path.rename(tmp_path / "=cmd.csv")
    submit(evil)
    rows = csv_of(client_for(analyst).get(reverse("national:audit-csv")))
    assert rows[0]["original_name"] == "'=cmd.csv"


def test_audit_page_links_its_download_with_its_filter(client_for, analyst: User) -> None:
    response = client_for(analyst).get(reverse("national:audit"), {"organisation": "rr8"})
    assert 'href="/national/audit.csv?organisation=RR8"' in response.content.decode()


@pytest.mark.parametrize("versions", [1, 4])
def test_audit_csv_query_count_does_not_grow_with_versions(
    client_for, analyst: User, submit, make_file, django_assert_max_num_queries, versions: int
) -> None:
    for seed in range(versions):
        submit(make_file(5, seed=seed))
    client = client_for(analyst)
    client.get(reverse("national:audit-csv"))
    # session, user, second factor, roles, versions; session save (3)
    with django_assert_max_num_queries(8):
        rows = csv_of(client.get(reverse("national:audit-csv")))
    assert len(rows) == versions


# Statistics --------------------------------------------------------------------------------------


@pytest.fixture
def two_months(submit, make_file, tmp_path: Path) -> dict[date, Submission]:
    """June by hand (CT 3 records, MRI 1) and a generated May, both live, not cut off."""
    return {MONTH: submit(hand_file(tmp_path / "june.csv", HAND_ROWS)),
            MAY: submit(make_file(20, month=MAY, seed=4), month=MAY)}


def test_statistics_page_offers_every_month_with_a_cutoff_or_live_files(
    client_for, analyst: User, two_months
) -> None:
    period_cut_off(actor=None, month=date(2026, 4, 1), kind="provisional")
    response = client_for(analyst).get(reverse("national:statistics"))
    assert response.context["months"] == [MONTH, MAY, date(2026, 4, 1)]
    assert response.context["month"] == MONTH


def test_statistics_page_shows_the_waiting_times_of_the_chosen_month(
    client_for, analyst: User, two_months
) -> None:
    client = client_for(analyst)
    june = client.get(reverse("national:statistics")).context["wait_rows"]
    may = client.get(reverse("national:statistics"), {"month": "2026-05"})
    assert {r["modality"]: r["n"] for r in june} == {"CT": 3, "MRI": 1}
    assert may.context["chosen"]["month"] == MAY
    assert sum(r["n"] for r in may.context["wait_rows"]) == two_months[MAY].accepted_rows
    assert "Waiting times, May 2026" in may.content.decode()


def test_statistics_page_says_a_cutoff_took_no_records(client_for, analyst: User) -> None:
    period_cut_off(actor=None, month=MAY, kind="provisional")
    response = client_for(analyst).get(reverse("national:statistics"), {"month": "2026-05"})
    html = response.content.decode()
    row = next(r for r in response.context["activity_table"] if r["month"] == MAY)
    assert row["empty"] and row["total"] == 0
    assert "The provisional cut-off took no records." in html
    assert "May 2026: the provisional cut-off took no records." in html


def test_statistics_page_says_a_month_has_nothing_to_show(client_for, analyst: User) -> None:
    response = client_for(analyst).get(reverse("national:statistics"), {"month": "2026-03"})
    assert "March 2026 has no cut-off and no live files." in response.content.decode()


def test_statistics_page_with_a_malformed_month_is_404(client_for, analyst: User) -> None:
    response = client_for(analyst).get(reverse("national:statistics"), {"month": "2026-13"})
    assert response.status_code == 404


def test_activity_csv_has_a_row_per_month_and_a_column_per_modality(
    client_for, analyst: User, two_months
) -> None:
    period_cut_off(actor=None, month=date(2026, 4, 1), kind="provisional")
    rows = csv_of(client_for(analyst).get(reverse("national:activity-csv")))
    by_month = {r["month"]: r for r in rows}
    assert list(by_month) == ["2026-04", "2026-05", "2026-06"]
    assert (by_month["2026-06"]["CT"], by_month["2026-06"]["MRI"]) == ("3", "1")
    assert by_month["2026-06"]["total"] == "4"
    assert by_month["2026-04"]["note"] == "The provisional cut-off took no records."


def test_waits_csv_has_the_chosen_months_waits_by_modality(
    client_for, analyst: User, two_months
) -> None:
    response = client_for(analyst).get(reverse("national:waits-csv"), {"month": "2026-06"})
    rows = {r["modality"]: r for r in csv_of(response)}
    assert response["Content-Disposition"] == 'attachment; filename="dids-waits-2026-06.csv"'
    assert rows["CT"]["request_to_test_records"] == "3"
    assert rows["CT"]["request_to_test_median"] == "20.0"
    assert rows["CT"]["request_to_test_days_0-41"] == "3"
    assert rows["MRI"]["test_to_report_median"] == "4.0"


def test_statistics_page_links_the_downloads_of_its_tables(client_for, analyst: User,
                                                          two_months) -> None:
    html = client_for(analyst).get(reverse("national:statistics"), {"month": "2026-05"}) \
        .content.decode()
    assert 'href="/national/statistics/activity.csv"' in html
    assert 'href="/national/statistics/waits.csv?month=2026-05"' in html


# Data quality ------------------------------------------------------------------------------------


def test_quality_page_lists_providers_that_sent_no_file(client_for, analyst: User,
                                                       submitter: User, submit,
                                                       make_file) -> None:
    submit(make_file(10))
    response = client_for(analyst).get(reverse("national:quality"))
    codes = {row["code"] for row in response.context["rows"]}
    html = response.content.decode()
    assert {"RR8", "RJ1", "RXH"} <= codes
    assert 'data-testid="quality-RJ1"' in html
    assert "No file" in html


def test_quality_page_says_when_only_rejected_files_came(
    client_for, analyst: User, other_provider_user: User, submit, bad_file: Path
) -> None:
    submit(bad_file, org="RCD", actor=other_provider_user)
    html = client_for(analyst).get(reverse("national:quality")).content.decode()
    assert "No accepted file" in html

