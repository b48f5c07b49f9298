"""The difference between two versions of a month: hand-built versions, so every record is known."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from dids_portal.lib.errors import DomainError
from reference.models import Organisation
from submissions.cycle.diff import version_compare
from submissions.cycle.selectors import version_diff
from submissions.cycle.timetable import LONDON
from submissions.models import Record, Submission
from tests.submissions.diff_helpers import record, version

pytestmark = pytest.mark.django_db

URL = reverse("submissions:diff", args=["2026-06"])


@pytest.fixture
def pair(rr8: Organisation) -> tuple[Submission, Submission]:
    """ACC1 the same, ACC2 with a new NICIP code and end time, ACC3 removed, ACC0 and ACC4
    added (MRI), ACC5 with a new NHS number."""
    old = version(rr8, 1, [record("ACC1"), record("ACC2"), record("ACC3"), record("ACC5")])
    new = version(
        rr8,
        2,
        [
            record("ACC4", modality="MRI"),
            record("ACC1"),
            record("ACC0", modality="MRI"),
            record(
                "ACC2",
                nicip_code="CCHAB",
                procedure_end=datetime(2026, 6, 3, 10, 45, tzinfo=LONDON),
            ),
            record("ACC5", nhs_number="9434765919"),
        ],
    )
    return old, new


def test_the_difference_lists_records_added_removed_and_changed_in_key_order(pair) -> None:
    summary, rows = version_compare(old=pair[0], new=pair[1])
    assert (summary.added, summary.removed, summary.changed) == (2, 1, 2)
    assert [(r.kind, r.accession_number) for r in rows] == [
        ("added", "ACC0"),
        ("changed", "ACC2"),
        ("removed", "ACC3"),
        ("added", "ACC4"),
        ("changed", "ACC5"),
    ]


def test_a_changed_record_names_exactly_the_items_that_changed_before_and_after(pair) -> None:
    _, rows = version_compare(old=pair[0], new=pair[1], kind="changed")
    acc2 = rows[0]
    assert [(c.item, c.before, c.after) for c in acc2.changes] == [
        (
            "Coded procedure end timestamp",
            datetime(2026, 6, 3, 10, 20, tzinfo=LONDON),
            datetime(2026, 6, 3, 10, 45, tzinfo=LONDON),
        ),
        ("NICIP code", "CCHES", "CCHAB"),
    ]


def test_nhs_numbers_are_masked_in_changes_and_whole_records(pair) -> None:
    _, rows = version_compare(old=pair[0], new=pair[1])
    acc5 = next(r for r in rows if r.accession_number == "ACC5")
    assert [(c.item, c.before, c.after) for c in acc5.changes] == [
        ("NHS number", "*******617", "*******919")
    ]
    assert {r.nhs_number for r in rows} == {"*******617", "*******919"}


def test_the_page_shows_no_whole_nhs_number(client_for, submitter: User, pair) -> None:
    html = client_for(submitter).get(URL + "?from=1&to=2").content.decode()
    assert 'data-testid="diff-table"' in html
    assert "4857302617" not in html and "9434765919" not in html
    assert "*******617" in html and "CCHAB" in html


def test_counts_by_modality_give_each_version_and_each_kind(pair) -> None:
    summary, _ = version_compare(old=pair[0], new=pair[1])
    counts = {
        m.code: (m.before, m.after, m.added, m.removed, m.changed) for m in summary.by_modality
    }
    assert counts == {"CT": (4, 3, 0, 1, 2), "MRI": (0, 2, 2, 0, 0)}


def test_the_filter_shows_only_records_of_one_kind(client_for, submitter: User, pair) -> None:
    response = client_for(submitter).get(URL + "?from=1&to=2&kind=removed")
    assert [r.accession_number for r in response.context["rows"]] == ["ACC3"]
    assert response.context["total"] == 1


def test_an_unknown_kind_shows_every_difference(client_for, submitter: User, pair) -> None:
    response = client_for(submitter).get(URL + "?from=1&to=2&kind=everything")
    assert len(response.context["rows"]) == 5


def test_pages_hold_fifty_records_and_the_last_page_the_rest(
    client_for, submitter: User, rr8: Organisation
) -> None:
    version(rr8, 1, [record("ACC0000")])
    version(rr8, 2, [record("ACC0000")] + [record(f"NEW{i:04d}") for i in range(60)])
    client = client_for(submitter)
    first = client.get(URL + "?from=1&to=2")
    assert [r.accession_number for r in first.context["rows"]][:2] == ["NEW0000", "NEW0001"]
    assert len(first.context["rows"]) == 50 and first.context["pages"] == 2
    assert "kind=" not in first.context["next_query"] and "page=2" in first.context["next_query"]
    assert 'class="nhsuk-pagination"' in first.content.decode()
    second = client.get(URL + "?from=1&to=2&page=2")
    assert [r.accession_number for r in second.context["rows"]] == [
        f"NEW{i:04d}" for i in range(50, 60)
    ]
    beyond = client.get(URL + "?from=1&to=2&page=9")
    assert beyond.context["page"] == 2 and len(beyond.context["rows"]) == 10


def test_identical_versions_say_no_records_differ(
    client_for, submitter: User, rr8: Organisation
) -> None:
    version(rr8, 1, [record("ACC1")])
    version(rr8, 2, [record("ACC1")])
    response = client_for(submitter).get(URL + "?from=1&to=2")
    assert response.context["rows"] == []
    assert "No records differ between these versions." in response.content.decode()


def test_another_organisation_gets_404_on_the_diff(
    client_for, other_provider_user: User, pair
) -> None:
    assert client_for(other_provider_user).get(URL + "?from=1&to=2").status_code == 404


def test_versions_of_two_months_cannot_be_compared(rr8: Organisation, pair) -> None:
    may = version(rr8, 1, [record("ACC1")], month=date(2026, 5, 1))
    with pytest.raises(DomainError):
        version_compare(old=may, new=pair[1])


def test_the_page_takes_as_many_queries_for_a_large_pair_as_for_a_small_one(
    client_for, submitter: User, rr8: Organisation
) -> None:
    client = client_for(submitter)

    def queries(size: int) -> int:
        Submission.objects.filter(organisation=rr8).delete()
        Record.objects.all().delete()
        version(
            rr8,
            1,
            [record(f"OLD{i:04d}") for i in range(size)]
            + [record(f"ACC{i:04d}") for i in range(size)],
        )
        version(
            rr8,
            2,
            [record(f"ACC{i:04d}", nicip_code="CCHAB") for i in range(size)]
            + [record(f"NEW{i:04d}") for i in range(size)],
        )
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL + "?from=1&to=2").status_code == 200
        return len(captured)

    assert queries(20) == queries(400)


def test_the_api_summary_keeps_its_keys_of_each_kind(pair) -> None:
    diff = version_diff(old=pair[0], new=pair[1], limit=1)
    assert (diff.added, diff.removed, diff.changed) == (
        [("RR815", "ACC0")],
        [("RR815", "ACC3")],
        [("RR815", "ACC2")],
    )
    assert (diff.added_count, diff.removed_count, diff.changed_count) == (2, 1, 2)
    assert diff.counts_by_modality == {
        "CT": {"before": 4, "after": 3},
        "MRI": {"before": 0, "after": 2},
    }
