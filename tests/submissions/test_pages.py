"""The submissions and national pages through Django's test client: what each persona sees,
the upload and check-only flows, results, history, downloads and the national pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import User
from submissions.cycle.services import period_reopen
from submissions.models import Submission
from submissions.services import submission_create
from submissions.templatetags.dids_items import item_name
from tests.submissions.conftest import AS_OF, MONTH, upload_of

pytestmark = pytest.mark.django_db

# The pages judge months and deadlines against now: July 2026, the month after MONTH.
NOW = AS_OF


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=True):
        yield



@pytest.fixture
def submit(submitter: User, django_capture_on_commit_callbacks) -> Callable[..., Submission]:
    def make(path: Path, *, org: str = "RR8", month: date = MONTH, actor: User | None = None) -> Submission:
        with django_capture_on_commit_callbacks(execute=True):
            submission, _ = submission_create(actor=actor or submitter, organisation_code=org,
                                              activity_month=month, upload=upload_of(path),
                                              original_name=path.name, as_of=AS_OF)
        submission.refresh_from_db()
        return submission

    return make


@pytest.fixture
def accepted(submit, make_file) -> Submission:
    return submit(make_file(40))


@pytest.fixture
def with_errors(submit, make_file) -> Submission:
    return submit(make_file(40, error_rate=0.2, seed=3))


@pytest.fixture
def rejected(submit, bad_file: Path) -> Submission:
    return submit(bad_file)


PROVIDER_PAGES = ["submissions:list", "submissions:upload", "accounts:provider-home"]
NATIONAL_PAGES = ["national:home", "national:compliance", "national:quality",
                  "national:statistics", "national:audit"]


# Who may see what ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*PROVIDER_PAGES, *NATIONAL_PAGES])
def test_anonymous_users_are_sent_to_sign_in(client: Client, sample_reference: None, name: str) -> None:
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:sign-in"))


def test_anonymous_users_are_sent_to_sign_in_from_a_result(client: Client, accepted: Submission) -> None:
    response = client.get(reverse("submissions:detail", args=[accepted.pk]))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:sign-in"))


@pytest.mark.parametrize("name", PROVIDER_PAGES)
def test_submitter_sees_the_provider_pages(client_for, submitter: User, name: str) -> None:
    assert client_for(submitter).get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", ["submissions:list", "accounts:provider-home"])
def test_colleague_sees_the_provider_pages_without_upload_buttons(
    client_for, colleague: User, name: str
) -> None:
    response = client_for(colleague).get(reverse(name))
    assert response.status_code == 200
    assert reverse("submissions:upload") not in response.content.decode()


def test_colleague_cannot_open_the_upload_page(client_for, colleague: User) -> None:
    assert client_for(colleague).get(reverse("submissions:upload")).status_code == 403


def test_colleague_cannot_upload(client_for, colleague: User, make_file) -> None:
    with make_file(10).open("rb") as handle:
        response = client_for(colleague).post(
            reverse("submissions:upload"),
            {"activity_month": "2026-06", "file": handle, "action": "submit"})
    assert response.status_code == 403
    assert not Submission.objects.exists()


@pytest.mark.parametrize("name", PROVIDER_PAGES)
def test_provider_pages_are_404_for_national_analysts(client_for, analyst: User, name: str) -> None:
    assert client_for(analyst).get(reverse(name)).status_code == 404


@pytest.mark.parametrize("name", NATIONAL_PAGES)
def test_national_pages_are_404_for_providers(client_for, submitter: User, name: str) -> None:
    assert client_for(submitter).get(reverse(name)).status_code == 404


@pytest.mark.parametrize("name", NATIONAL_PAGES)
def test_analyst_sees_the_national_pages(client_for, analyst: User, accepted: Submission,
                                         name: str) -> None:
    assert client_for(analyst).get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", ["submissions:detail", "submissions:findings-csv",
                                  "submissions:annotated-csv"])
def test_another_providers_submission_is_404(client_for, other_provider_user: User,
                                             with_errors: Submission, name: str) -> None:
    response = client_for(other_provider_user).get(reverse(name, args=[with_errors.pk]))
    assert response.status_code == 404


def test_another_providers_month_shows_none_of_its_versions(
    client_for, other_provider_user: User, accepted: Submission
) -> None:
    response = client_for(other_provider_user).get(reverse("submissions:month", args=["2026-06"]))
    assert response.status_code == 200
    assert response.context["versions"] == []


def test_another_provider_cannot_reprocess(client_for, other_provider_user: User,
                                           accepted: Submission) -> None:
    response = client_for(other_provider_user).post(reverse("submissions:reprocess",
                                                            args=[accepted.pk]))
    assert response.status_code == 404


def test_colleague_sees_a_result_read_only(client_for, colleague: User,
                                           with_errors: Submission) -> None:
    response = client_for(colleague).get(reverse("submissions:detail", args=[with_errors.pk]))
    assert response.status_code == 200
    assert "Upload a corrected file" not in response.content.decode()


def test_analyst_opens_any_result(client_for, analyst: User, with_errors: Submission) -> None:
    response = client_for(analyst).get(reverse("submissions:detail", args=[with_errors.pk]))
    assert response.status_code == 200


# Provider home and history ---------------------------------------------------------------------


def test_provider_home_shows_the_months_with_status_deadline_and_live_version(
    client_for, submitter: User, accepted: Submission
) -> None:
    response = client_for(submitter).get(reverse("accounts:provider-home"))
    html = response.content.decode()
    june = next(m for m in response.context["months"] if m.month == MONTH)
    assert june.state == "on_time"
    assert june.live_version == accepted.version
    assert "Received on time" in html
    assert "31 July 2026" in html  # the provisional deadline: the last working day of July
    assert reverse("submissions:detail", args=[accepted.pk]) in html


def test_provider_home_says_what_is_due(client_for, submitter: User) -> None:
    response = client_for(submitter).get(reverse("accounts:provider-home"))
    steps = response.context["next_steps"]
    assert all(m.state == "due" for m in steps)
    # June is the first month not yet overdue: the older ones come first.
    assert next(m for m in steps if not m.overdue).month == MONTH
    assert "Submit a file by 31 July 2026" in response.content.decode()


def test_provider_home_puts_overdue_months_first_nearest_deadline_first(
        client_for, submitter: User) -> None:
    # 15 September 2026: June and July are past their provisional deadlines (31 July, 28
    # August) with no file, August is due by 30 September.
    with time_machine.travel(datetime(2026, 9, 15, 10, tzinfo=UTC), tick=False):
        response = client_for(submitter).get(reverse("accounts:provider-home"))
        steps = response.context["next_steps"]
        overdue = [m for m in steps if m.overdue]
        assert [m.month for m in steps][:len(overdue)] == [m.month for m in overdue]
        assert [m.final_deadline for m in overdue] == sorted(m.final_deadline for m in overdue)
        assert {date(2026, 6, 1), date(2026, 7, 1)} <= {m.month for m in overdue}
        assert steps[len(overdue)].month == date(2026, 8, 1) and not steps[len(overdue)].overdue
        html = response.content.decode()
        assert '<strong class="nhsuk-tag nhsuk-tag--red">Overdue</strong>' in html
        table = {m.month for m in response.context["months"]}
        assert {m.month for m in steps} <= table


def test_rejected_only_month_asks_for_a_corrected_file(client_for, submitter: User,
                                                       rejected: Submission) -> None:
    response = client_for(submitter).get(reverse("accounts:provider-home"))
    june = next(m for m in response.context["months"] if m.month == MONTH)
    assert june.state == "rejected_only"
    assert "correct the findings and submit again" in response.content.decode()


def test_month_history_lists_every_version_with_who_when_how_and_which_is_live(
    client_for, submitter: User, accepted: Submission, rejected: Submission
) -> None:
    response = client_for(submitter).get(reverse("submissions:month", args=["2026-06"]))
    html = response.content.decode()
    assert [s.version for s in response.context["versions"]] == [2, 1]
    assert html.count(submitter.email) >= 2
    assert "Upload page" in html
    assert "Rejected" in html and "Live" in html


def test_month_history_of_a_bad_month_is_404(client_for, submitter: User) -> None:
    assert client_for(submitter).get(reverse("submissions:month", args=["June"])).status_code == 404


def test_version_diff_shows_what_changed_between_two_versions(
    client_for, submitter: User, submit, make_file, accepted: Submission
) -> None:
    submit(make_file(30, seed=2))
    url = reverse("submissions:diff", args=["2026-06"]) + "?from=1&to=2"
    response = client_for(submitter).get(url)
    summary = response.context["summary"]
    assert response.status_code == 200
    assert summary.added + summary.removed + summary.changed > 0
    assert 'data-testid="diff-table"' in response.content.decode()
    assert "Compare with version 1" in client_for(submitter).get(
        reverse("submissions:month", args=["2026-06"])).content.decode()


def test_version_diff_of_another_providers_versions_is_404(
    client_for, other_provider_user: User, accepted: Submission
) -> None:
    url = reverse("submissions:diff", args=["2026-06"]) + "?from=1&to=1"
    assert client_for(other_provider_user).get(url).status_code == 404


# Upload, results and check only ----------------------------------------------------------------


def test_upload_page_offers_the_recent_months(client_for, submitter: User) -> None:
    response = client_for(submitter).get(reverse("submissions:upload") + "?month=2026-06")
    form = response.context["form"]
    assert ("2026-06", "June 2026") in form.fields["activity_month"].choices
    assert form.initial["activity_month"] == "2026-06"


def test_upload_page_offers_only_months_that_can_take_a_file_newest_first(
        client_for, submitter: User, analyst: User) -> None:
    # On 1 July 2026 December 2025 is locked (its final deadline was 30 June 2026), January
    # 2026 is still open; a reopening for RR8 makes December take a file again.
    def offered() -> list[str]:
        form = client_for(submitter).get(reverse("submissions:upload")).context["form"]
        return [value for value, _label in form.fields["activity_month"].choices if value]

    months = offered()
    assert months == sorted(months, reverse=True)
    assert months[0] == "2026-07" and "2026-01" in months and "2025-12" not in months
    period_reopen(actor=analyst, organisation_code="RR8", month="2025-12", reason="Late fix",
                  expires_at=NOW + timedelta(days=7))
    assert offered() == [*months, "2025-12"]


def test_upload_without_a_file_shows_the_error_summary(client_for, submitter: User) -> None:
    response = client_for(submitter).post(reverse("submissions:upload"),
                                          {"activity_month": "", "action": "submit"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "nhsuk-error-summary" in html
    assert "Select a DIDS file" in html and "Select the activity month" in html


def test_upload_with_two_files_is_refused_and_stores_nothing(client_for, submitter: User,
                                                             make_file) -> None:
    with make_file(5, seed=1).open("rb") as one, make_file(5, seed=2).open("rb") as two:
        response = client_for(submitter).post(
            reverse("submissions:upload"),
            {"activity_month": "2026-06", "file": [one, two], "action": "submit"})
    assert response.status_code == 200
    assert "Select one DIDS file" in response.content.decode()
    assert not Submission.objects.exists()


def test_upload_submits_and_redirects_to_the_result(client_for, submitter: User, make_file) -> None:
    with make_file(20).open("rb") as handle:
        response = client_for(submitter).post(
            reverse("submissions:upload"),
            {"activity_month": "2026-06", "file": handle, "action": "submit"})
    submission = Submission.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("submissions:detail", args=[submission.pk])
    assert submission.channel == "web"
    assert submission.submitted_by == submitter


def test_upload_asking_for_json_gets_the_receipt_urls(client_for, submitter: User, make_file) -> None:
    with make_file(20).open("rb") as handle:
        response = client_for(submitter).post(
            reverse("submissions:upload"),
            {"activity_month": "2026-06", "file": handle, "action": "submit"},
            headers={"Accept": "application/json"})
    submission = Submission.objects.get()
    assert response.status_code == 201
    assert response.json() == {"id": submission.pk, "version": 1,
                               "result_url": reverse("submissions:detail", args=[submission.pk]),
                               "status_url": f"/api/submissions/{submission.pk}/"}


def test_invalid_upload_asking_for_json_gets_the_errors(client_for, submitter: User) -> None:
    response = client_for(submitter).post(reverse("submissions:upload"), {"action": "submit"},
                                          headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"file", "activity_month"}


def test_result_with_errors_shows_counts_by_rule_explanations_and_first_findings(
    client_for, submitter: User, with_errors: Submission
) -> None:
    response = client_for(submitter).get(reverse("submissions:detail", args=[with_errors.pk]))
    html = response.content.decode()
    rules = response.context["rules"]
    assert {r["id"]: r["count"] for r in rules} == with_errors.counts_by_rule
    assert all(r["explanation"] for r in rules)
    assert f'href="{reverse("submissions:rules")}#{rules[0]["id"]}"' in html
    assert response.context["findings"]
    first = response.context["findings"][0]
    assert f'<span class="nhsuk-table-responsive__heading">Line </span>{first.line}</td>' in html
    assert first.item and "_" not in item_name(first.item)
    assert f'<span class="nhsuk-table-responsive__heading">Item </span>{item_name(first.item)}</td>' in html
    assert reverse("submissions:findings-csv", args=[with_errors.pk]) in html
    assert reverse("submissions:annotated-csv", args=[with_errors.pk]) in html
    assert "Accepted with warnings" in html


def test_a_result_with_rejected_records_says_how_many_in_its_headline_and_tags_them_apart(
    client_for, submitter: User, with_errors: Submission
) -> None:
    assert with_errors.status == "accepted_with_warnings" and with_errors.rejected_rows
    html = client_for(submitter).get(reverse("submissions:detail", args=[with_errors.pk])).content.decode()
    headline = html.split('data-testid="headline-rejected">')[1].split("<")[0]
    assert headline == f"{with_errors.rejected_rows} of {with_errors.rows} records rejected"
    assert f", {with_errors.rejected_rows} of {with_errors.rows} records rejected" in html.split("</title>")[0]
    assert '<strong class="nhsuk-tag nhsuk-tag--red">Record rejected</strong>' in html
    rules_page = client_for(submitter).get(reverse("submissions:rules")).content.decode()
    assert '<strong class="nhsuk-tag nhsuk-tag--yellow">Warning: record kept</strong>' in rules_page
    assert '<strong class="nhsuk-tag nhsuk-tag--red">Record rejected</strong>' in rules_page


def test_rejected_result_says_it_does_not_replace_the_live_version(
    client_for, submitter: User, accepted: Submission, rejected: Submission
) -> None:
    html = client_for(submitter).get(reverse("submissions:detail", args=[rejected.pk])).content.decode()
    assert "Rejected" in html
    assert "does not replace the live version" in html


def test_result_refreshes_itself_while_processing(client_for, submitter: User, make_file) -> None:
    submission, _ = submission_create(actor=submitter, organisation_code="RR8", activity_month=MONTH,
                                      upload=upload_of(make_file(5)), original_name="a.csv",
                                      enqueue=lambda pk: None)
    response = client_for(submitter).get(reverse("submissions:detail", args=[submission.pk]))
    html = response.content.decode()
    assert '<meta http-equiv="refresh" content="2">' in html
    assert "<progress" in html


def test_finished_result_does_not_refresh(client_for, submitter: User, accepted: Submission) -> None:
    html = client_for(submitter).get(reverse("submissions:detail", args=[accepted.pk])).content.decode()
    assert 'http-equiv="refresh"' not in html


def test_findings_csv_downloads(client_for, submitter: User, with_errors: Submission) -> None:
    response = client_for(submitter).get(reverse("submissions:findings-csv", args=[with_errors.pk]))
    body = b"".join(response.streaming_content).decode()
    assert response["Content-Disposition"].startswith('attachment; filename="dids-findings-RR8-2026-06')
    assert body.splitlines()[0] == "line,item,rule,severity,message,value,expected"
    assert len(body.splitlines()) == 1 + with_errors.findings.count()


def test_annotated_csv_downloads(client_for, submitter: User, with_errors: Submission) -> None:
    response = client_for(submitter).get(reverse("submissions:annotated-csv", args=[with_errors.pk]))
    body = b"".join(response.streaming_content).decode()
    assert "dids_findings" in body.splitlines()[0]


def test_check_only_shows_the_result_and_stores_nothing(client_for, submitter: User,
                                                        make_file) -> None:
    with make_file(40, error_rate=0.2, seed=3).open("rb") as handle:
        response = client_for(submitter).post(
            reverse("submissions:upload"),
            {"activity_month": "2026-06", "file": handle, "action": "check"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "nothing has been sent or stored" in html
    assert response.context["rules"]
    assert response.context["findings"]
    assert not Submission.objects.exists()


def test_reprocess_queues_a_failed_version_again(client_for, submitter: User,
                                                 accepted: Submission) -> None:
    Submission.objects.filter(pk=accepted.pk).update(status="failed", is_live=False)
    response = client_for(submitter).post(reverse("submissions:reprocess", args=[accepted.pk]))
    assert response.status_code == 302
    accepted.refresh_from_db()
    assert accepted.status != "failed"


def test_colleague_cannot_reprocess(client_for, colleague: User, accepted: Submission) -> None:
    response = client_for(colleague).post(reverse("submissions:reprocess", args=[accepted.pk]))
    assert response.status_code == 403


# National pages --------------------------------------------------------------------------------


def test_compliance_matrix_shows_each_provider_and_month_in_words(
    client_for, analyst: User, accepted: Submission, submit, bad_file: Path, other_provider_user
) -> None:
    submit(bad_file, org="RCD", actor=other_provider_user)
    response = client_for(analyst).get(reverse("national:compliance"))
    rows = {r["code"]: r for r in response.context["matrix"]["rows"]}
    months = response.context["matrix"]["months"]
    june = months.index(MONTH)
    assert rows["RR8"]["cells"][june].state == "on_time"
    assert rows["RCD"]["cells"][june].state == "rejected_only"
    html = response.content.decode()
    assert "Received on time" in html and "Rejected only" in html


def test_compliance_matrix_filters_by_region_and_type(client_for, analyst: User, rr8) -> None:
    client = client_for(analyst)
    everyone = client.get(reverse("national:compliance")).context["matrix"]["rows"]
    by_region = client.get(reverse("national:compliance"), {"region": rr8.region}).context
    by_type = client.get(reverse("national:compliance"), {"type": rr8.type}).context
    assert by_region["region"] == rr8.region
    assert {r["region"] for r in by_region["matrix"]["rows"]} == {rr8.region}
    assert {r["type"] for r in by_type["matrix"]["rows"]} == {rr8.type}
    assert len(by_region["matrix"]["rows"]) <= len(everyone)


def test_quality_page_shows_each_providers_score_by_month(client_for, analyst: User,
                                                         with_errors: Submission) -> None:
    response = client_for(analyst).get(reverse("national:quality"))
    row = next(r for r in response.context["rows"] if r["code"] == "RR8")
    cell = row["cells"][response.context["months"].index(MONTH)]
    assert cell.quality is not None and 0 < cell.quality < 100
    assert f"{cell.quality:.1f}%" in response.content.decode()


def test_statistics_page_has_each_chart_with_its_table(client_for, analyst: User,
                                                       accepted: Submission) -> None:
    response = client_for(analyst).get(reverse("national:statistics"))
    html = response.content.decode()
    total = sum(row["total"] for row in response.context["activity_table"])
    assert total == accepted.accepted_rows
    assert html.count("<svg class=\"dids-chart\"") == 2
    assert 'data-testid="activity-table"' in html and 'data-testid="waits-table"' in html


def test_audit_lists_every_version_and_filters_by_organisation(
    client_for, analyst: User, accepted: Submission, rejected: Submission
) -> None:
    client = client_for(analyst)
    assert len(client.get(reverse("national:audit")).context["submissions"]) == 2
    assert len(client.get(reverse("national:audit"), {"organisation": "rcd"}).context["submissions"]) == 0


def test_navigation_links_point_at_real_pages(client_for, submitter: User, analyst: User) -> None:
    provider = client_for(submitter).get(reverse("accounts:provider-home")).context
    assert [i["href"] for i in provider["portal_navigation"]] == [
        "/provider/", "/submissions/", "/provider/api-tokens/"]
    national = client_for(analyst).get(reverse("national:home")).context
    assert [i["href"] for i in national["portal_navigation"]] == [
        "/national/compliance/", "/national/quality/", "/national/statistics/",
        "/national/timetable/", "/national/reopenings/", "/national/cutoffs/",
        "/national/extracts/", "/national/audit/"]


# Query counts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("versions", [1, 4])
def test_month_history_query_count_does_not_grow_with_versions(
    client_for, submitter: User, submit, make_file, django_assert_max_num_queries, versions: int
) -> None:
    for seed in range(versions):
        submit(make_file(5, seed=seed))
    client = client_for(submitter)
    with django_assert_max_num_queries(8):  # session, user, roles, organisation, versions
        client.get(reverse("submissions:month", args=["2026-06"]))


@pytest.mark.parametrize("versions", [1, 4])
def test_audit_query_count_does_not_grow_with_versions(
    client_for, analyst: User, submit, make_file, django_assert_max_num_queries, versions: int
) -> None:
    for seed in range(versions):
        submit(make_file(5, seed=seed))
    client = client_for(analyst)
    with django_assert_max_num_queries(9):  # session, user, roles, second factor, count, page
        client.get(reverse("national:audit"))
