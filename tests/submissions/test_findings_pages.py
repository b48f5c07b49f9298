"""The findings list of a version (/submissions/<id>/findings/): counts by rule, filters by rule,
outcome and data item, 50 a page with the filters kept, the same access as the result page, and
a query count that does not grow with the findings; and the result page's links into it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from dids_portal.lib.pager import page_href
from submissions.models import Finding, Submission
from submissions.services import submission_create
from tests.submissions.conftest import AS_OF, MONTH, upload_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(AS_OF, tick=True):
        yield


@pytest.fixture
def submit(submitter: User, django_capture_on_commit_callbacks) -> Callable[[Path], Submission]:
    def make(path: Path) -> Submission:
        with django_capture_on_commit_callbacks(execute=True):
            submission, _ = submission_create(
                actor=submitter,
                organisation_code="RR8",
                activity_month=MONTH,
                upload=upload_of(path),
                original_name=path.name,
                as_of=AS_OF,
            )
        submission.refresh_from_db()
        return submission

    return make


@pytest.fixture
def with_errors(submit, make_file) -> Submission:
    return submit(make_file(40, error_rate=0.2, seed=3))


def add_findings(submission: Submission, spec: dict[tuple[str, str, str], int]) -> None:
    """Give a version exactly these findings: (rule, severity, item) -> how many, one a line."""
    Finding.objects.filter(submission=submission).delete()
    rows, line = [], 1
    for (rule, severity, item), count in spec.items():
        for _ in range(count):
            rows.append(
                Finding(
                    submission=submission,
                    line=line,
                    item=item,
                    rule=rule,
                    severity=severity,
                    message=f"{rule} at line {line}",
                    value="*******617" if item == "nhs_number" else "X",
                )
            )
            line += 1
    Finding.objects.bulk_create(rows)
    counts: dict[str, int] = {}
    for (rule, _severity, _item), count in spec.items():
        counts[rule] = counts.get(rule, 0) + count
    submission.counts_by_rule = counts
    submission.save(update_fields=["counts_by_rule"])


MANY = {
    ("DIDS012", "reject", "nhs_number"): 120,
    ("DIDS013", "reject", "nhs_number"): 7,
    ("DIDS040", "warn", "ethnic_category"): 30,
}


@pytest.fixture
def many(submit, make_file) -> Submission:
    submission = submit(make_file(5))
    add_findings(submission, MANY)
    return submission


def findings_page(client: Client, submission: Submission, **params: str):
    return client.get(reverse("submissions:findings", args=[submission.pk]), params)


# Counts and filters ----------------------------------------------------------------------------


def test_findings_list_counts_every_rule_with_its_title_outcome_and_a_link_filtering_to_it(
    client_for, submitter: User, with_errors: Submission
) -> None:
    response = findings_page(client_for(submitter), with_errors)
    html = response.content.decode()
    rules = response.context["rules"]
    assert {r["id"]: r["count"] for r in rules} == with_errors.counts_by_rule
    assert all(r["title"] and len(r["title"]) <= 90 for r in rules)
    for rule in rules:
        assert f'href="?rule={rule["id"]}#findings-heading"' in html
        assert f'href="{reverse("submissions:rules")}#{rule["id"]}"' in html
    assert "Record rejected" in html
    assert response.context["total"] == with_errors.findings.count()


def test_findings_list_filters_by_rule(client_for, submitter: User, many: Submission) -> None:
    response = findings_page(client_for(submitter), many, rule="DIDS013")
    findings = list(response.context["findings"])
    assert len(findings) == 7 and {f.rule for f in findings} == {"DIDS013"}
    assert "Showing 1 to 7 of 7 findings of rule DIDS013" in response.content.decode()
    assert 'aria-current="true"' in response.content.decode()


def test_findings_list_filters_by_outcome_and_item(
    client_for, submitter: User, many: Submission
) -> None:
    client = client_for(submitter)
    warnings = findings_page(client, many, severity="warn").context
    assert warnings["page"].paginator.count == 30
    assert {f.severity for f in warnings["findings"]} == {"warn"}
    nhs = findings_page(client, many, item="nhs_number", severity="reject").context
    assert nhs["page"].paginator.count == 127
    assert {f.item for f in nhs["findings"]} == {"nhs_number"}


def test_a_filter_value_not_in_its_list_is_shown_as_an_error_and_left_out(
    client_for, submitter: User, many: Submission
) -> None:
    response = findings_page(client_for(submitter), many, rule="DIDS999", severity="warn")
    assert response.context["filters"] == {"rule": "", "severity": "warn", "item": ""}
    assert response.context["page"].paginator.count == 30
    assert "Select a rule from the list" in response.content.decode()


def test_no_matching_findings_says_so(client_for, submitter: User, many: Submission) -> None:
    response = findings_page(client_for(submitter), many, rule="DIDS040", severity="reject")
    assert "No findings match these filters." in response.content.decode()


def test_nhs_numbers_in_findings_stay_masked(client_for, submitter: User, many: Submission) -> None:
    html = findings_page(client_for(submitter), many, rule="DIDS012").content.decode()
    assert "<code>*******617</code>" in html


# Paging ----------------------------------------------------------------------------------------


def test_findings_list_shows_50_a_page_in_file_order(
    client_for, submitter: User, many: Submission
) -> None:
    client = client_for(submitter)
    first = findings_page(client, many).context
    assert [f.line for f in first["findings"]] == list(range(1, 51))
    assert first["page"].paginator.num_pages == 4  # 157 findings
    last = findings_page(client, many, page="4").context
    assert [f.line for f in last["findings"]] == list(range(151, 158))


def test_page_links_keep_the_filters(client_for, submitter: User, many: Submission) -> None:
    response = findings_page(
        client_for(submitter), many, rule="DIDS012", item="nhs_number", page="2"
    )
    html = response.content.decode()
    assert [f.line for f in response.context["findings"]] == list(range(51, 101))
    # Next, and the numbered pages, landing on the list.
    assert 'href="?rule=DIDS012&amp;item=nhs_number&amp;page=3#findings-heading"' in html
    assert 'href="?rule=DIDS012&amp;item=nhs_number&amp;page=1#findings-heading"' in html
    assert 'aria-current="page"' in html and "nhsuk-pagination--numbered" in html


def test_a_page_past_the_end_or_not_a_number_gives_a_real_page(
    client_for, submitter: User, many: Submission
) -> None:
    client = client_for(submitter)
    assert findings_page(client, many, page="99").context["page"].number == 4
    assert findings_page(client, many, page="abc").context["page"].number == 1


def test_page_href_keeps_the_other_parameters_and_drops_empty_ones() -> None:
    assert page_href({"rule": "DIDS012", "severity": "", "page": "3"}, 4) == "?rule=DIDS012&page=4"


# Who sees it -----------------------------------------------------------------------------------


def test_another_providers_findings_are_404(
    client_for, other_provider_user: User, many: Submission
) -> None:
    assert findings_page(client_for(other_provider_user), many).status_code == 404


def test_colleague_and_analyst_see_the_findings(
    client_for, colleague: User, analyst: User, many: Submission
) -> None:
    assert findings_page(client_for(colleague), many).status_code == 200
    assert findings_page(client_for(analyst), many).status_code == 200


def test_anonymous_users_are_sent_to_sign_in(client: Client, many: Submission) -> None:
    response = findings_page(client, many)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:sign-in"))


# Query count -----------------------------------------------------------------------------------


def test_findings_list_query_count_does_not_grow_with_the_findings(
    client_for, submitter: User, submit, make_file
) -> None:
    small, large = submit(make_file(5, seed=1)), submit(make_file(5, seed=2))
    add_findings(small, {("DIDS041", "warn", "postcode"): 60})
    add_findings(large, {**MANY, ("DIDS041", "warn", "postcode"): 900})
    client = client_for(submitter)
    counts = []
    for submission in (small, large):
        with CaptureQueriesContext(connection) as queries:
            assert findings_page(client, submission, severity="warn", page="2").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    # Session, user, roles, version, the counts, the organisation, the page, the session saved.
    assert counts[1] <= 10, [q["sql"][:60] for q in queries.captured_queries]


# The result page -------------------------------------------------------------------------------


def test_result_page_shows_the_first_10_findings_and_links_to_all_of_them(
    client_for, submitter: User, many: Submission
) -> None:
    response = client_for(submitter).get(reverse("submissions:detail", args=[many.pk]))
    html = response.content.decode()
    findings_url = reverse("submissions:findings", args=[many.pk])
    assert len(response.context["findings"]) == 10
    assert "The first 10 findings" in html
    assert f'<a href="{findings_url}" data-testid="all-findings">See all 157 findings</a>' in html
    assert f'href="{findings_url}?rule=DIDS012#findings-heading">120<' in html


def test_result_page_counts_link_with_thousands_separated(
    client_for, submitter: User, submit, make_file
) -> None:
    submission = submit(make_file(5))
    add_findings(submission, {("DIDS041", "warn", "postcode"): 4213})
    html = (
        client_for(submitter)
        .get(reverse("submissions:detail", args=[submission.pk]))
        .content.decode()
    )
    assert "See all 4,213 findings" in html


def test_upload_page_file_picker_is_the_design_systems_file_upload(
    client_for, submitter: User
) -> None:
    html = client_for(submitter).get(reverse("submissions:upload")).content.decode()
    assert 'class="nhsuk-form-group nhsuk-file-upload" data-module="nhsuk-file-upload"' in html
    assert 'class="nhsuk-file-upload__input"' in html
