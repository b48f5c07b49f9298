"""seed_demo builds the history a national team would see: six months of receipts at the
times they would have arrived, and the cut-offs of every month whose deadline has passed.

The shared history is built, and read, at noon on 25 November 2026: it is May to October 2026,
and the provisional deadlines of May to September have passed.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from submissions.choices import Channel, ComplianceState, CutOffKind, SubmissionStatus
from submissions.cycle.selectors import compliance_register
from submissions.cycle.timetable import default_deadlines
from submissions.demo import dataset_version_for, demo_plan, history_months
from submissions.models import CutOff, CutOffVersion, Record, Submission
from submissions.services import submission_create, submission_process
from tests.submissions.conftest import AS_OF, MONTH

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=LONDON)
HISTORY = [date(2026, month, 1) for month in range(5, 11)]
PROVISIONAL_PASSED = HISTORY[:-1]


@pytest.fixture(scope="class")
def demo_history(django_db_setup: None, django_db_blocker) -> Iterator[None]:
    """One seed_demo on its default path, shared by the tests of a class that only read it,
    and rolled back after them."""
    with time_machine.travel(NOW, tick=True), django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", stdout=io.StringIO())
        yield
        transaction.set_rollback(True)


def _register():
    return {row.organisation_code: row for row in
            compliance_register(start=HISTORY[0], end=HISTORY[-1]).rows}


@pytest.mark.usefixtures("demo_history")
class TestTheDefaultDemoHistory:
    def test_every_month_whose_provisional_deadline_passed_has_a_cut_off_with_records(self, db):
        cutoffs = {c.period.activity_month: c for c in
                   CutOff.objects.filter(kind=CutOffKind.PROVISIONAL).select_related("period")}
        assert sorted(cutoffs) == PROVISIONAL_PASSED
        assert all(cutoffs[month].record_count > 0 for month in PROVISIONAL_PASSED)

    def test_months_before_their_deadlines_have_no_cut_off(self, db):
        assert not CutOff.objects.filter(period__activity_month=HISTORY[-1]).exists()
        assert not CutOff.objects.filter(kind=CutOffKind.FINAL).exists()  # none is due yet

    def test_the_current_month_receives_nothing(self, db):
        assert not Submission.objects.filter(activity_month=date(2026, 11, 1)).exists()

    def test_demo_versions_are_received_in_the_past_and_marked_as_demo_data(self, db):
        versions = Submission.objects.all()
        assert versions.count() > 50
        assert set(versions.values_list("channel", flat=True)) == {Channel.DEMO}
        assert all(v.received_at < timezone.now() and v.as_of == v.received_at for v in versions)

    def test_most_months_are_on_time_a_few_late_one_due_and_one_rejected_only(self, db):
        states = [cell.state for row in _register().values() for cell in row.cells if cell]
        assert states.count(ComplianceState.ON_TIME) > len(states) // 2
        assert states.count(ComplianceState.LATE) >= 2
        assert ComplianceState.DUE in states
        assert states.count(ComplianceState.REJECTED_ONLY) == 1

    def test_an_organisation_misses_one_month_of_the_history(self, db):
        nvc = [cell.state for cell in _register()["NVC"].cells]
        assert nvc.count(ComplianceState.DUE) == 1 and nvc[-1] != ComplianceState.DUE

    def test_a_late_file_is_left_out_of_its_months_provisional_cut_off(self, db):
        late = Submission.objects.get(organisation_id="RAJ", activity_month=HISTORY[3])
        cutoff = CutOff.objects.get(period__activity_month=HISTORY[3], kind=CutOffKind.PROVISIONAL)
        assert cutoff.deadline < late.received_at < timezone.now()
        assert late.is_live and not cutoff.versions.filter(organisation_id="RAJ").exists()

    def test_a_resubmission_is_live_and_the_provisional_cut_off_kept_the_version_before_it(
            self, db):
        old, new = Submission.objects.filter(organisation_id="RR8", activity_month=HISTORY[3]
                                             ).order_by("version")
        assert (old.version, new.version) == (1, 2)
        assert new.is_live and not old.is_live and new.status == SubmissionStatus.ACCEPTED
        assert old.history.filter(history_change_reason="Superseded by version 2").exists()
        taken = CutOffVersion.objects.get(cutoff__period__activity_month=HISTORY[3],
                                          cutoff__kind=CutOffKind.PROVISIONAL, organisation_id="RR8")
        assert taken.submission_id == old.pk

    def test_one_demo_file_is_rejected_as_a_whole(self, db):
        rejected = Submission.objects.get(status=SubmissionStatus.REJECTED)
        assert rejected.file_rejected and "DIDS075" in rejected.counts_by_rule
        assert (rejected.organisation_id, rejected.activity_month) == ("TAJ", HISTORY[-2])

    def test_live_demo_files_score_a_realistic_quality(self, db):
        scores = [cell.quality for row in _register().values() for cell in row.cells
                  if cell and cell.quality is not None]
        assert len(scores) > 40
        assert min(scores) >= 90 and any(score < 100 for score in scores)

    def test_a_second_seed_demo_creates_nothing_new(self, db):
        before = (Submission.objects.count(), CutOff.objects.count(), Record.objects.count())
        call_command("seed_demo", stdout=io.StringIO())
        assert (Submission.objects.count(), CutOff.objects.count(),
                Record.objects.count()) == before

    def test_monthly_stats_of_the_latest_provisional_cut_off_counts_records(self, db, capsys):
        call_command("monthly_stats", "--month", f"{PROVISIONAL_PASSED[-1]:%Y-%m}",
                     "--cutoff", "provisional")
        figures = json.loads(capsys.readouterr().out)
        assert figures["total"] > 0 and len(figures["by_provider"]) >= 8


def test_the_plan_receives_nothing_after_now():
    now = datetime(2026, 12, 2, 10, 0, tzinfo=LONDON)
    months = history_months(now.date())
    plan = demo_plan(months=months, deadlines={m: default_deadlines(m) for m in months}, now=now)
    assert plan and all(receipt.received_at <= now for receipt in plan)
    assert [r.received_at for r in plan] == sorted(r.received_at for r in plan)


def test_a_history_across_april_2026_sends_each_month_in_its_layout():
    months = history_months(date(2026, 6, 15))
    assert [dataset_version_for(m) for m in months] == ["1.0"] * 4 + ["2.0"] * 2


def test_early_in_a_month_few_providers_have_sent_the_month_before():
    now = datetime(2026, 12, 2, 10, 0, tzinfo=LONDON)
    months = history_months(now.date())
    plan = demo_plan(months=months, deadlines={m: default_deadlines(m) for m in months}, now=now)
    assert months == [date(2026, month, 1) for month in range(6, 12)]
    assert len([r for r in plan if r.month == months[-1]]) < 5
    assert len({r.organisation for r in plan if r.month == months[-2]}) == 10


def test_a_month_whose_final_deadline_passed_gets_its_final_cut_off(db):
    # On Sunday 31 January 2027, July 2026's final deadline (Friday 29 January) has passed.
    with time_machine.travel(datetime(2027, 1, 31, 12, 0, tzinfo=LONDON), tick=False):
        call_command("seed_demo", "--rows", "10", stdout=io.StringIO())
    final = CutOff.objects.get(kind=CutOffKind.FINAL)
    assert final.period.activity_month == date(2026, 7, 1) and final.record_count > 0
    assert CutOff.objects.filter(kind=CutOffKind.PROVISIONAL).count() == 6


# Demo versions are marked as demo data wherever their channel is shown ------------------------

@pytest.fixture
def demo_version(rr8, make_file) -> Submission:
    path = make_file(rows=10)
    submission, _ = submission_create(
        actor=None, organisation_code="RR8", activity_month=MONTH,
        upload=io.BytesIO(path.read_bytes()), original_name=path.name, channel=Channel.DEMO, received_at=AS_OF, enqueue=lambda pk: None)
    submission_process(submission_id=submission.pk)
    return submission


def test_a_demo_versions_page_says_it_is_demo_data(client, submitter, demo_version):
    client.force_login(submitter)
    html = client.get(reverse("submissions:detail", args=[demo_version.pk])).content.decode()
    assert "by an operator (demo data)" in html


def test_the_month_history_marks_a_demo_version_as_demo_data(client, submitter, demo_version):
    client.force_login(submitter)
    html = client.get(reverse("submissions:month", args=[f"{MONTH:%Y-%m}"])).content.decode()
    assert "Demo data" in html


def test_the_national_audit_list_marks_a_demo_version_as_demo_data(client, analyst, demo_version):
    client.force_login(analyst)
    assert "Demo data" in client.get(reverse("national:audit")).content.decode()


def test_the_api_gives_a_demo_versions_channel_as_demo(api_client_for, submitter, demo_version):
    response = api_client_for(submitter).get(f"/api/submissions/{demo_version.pk}/")
    assert response.json()["channel"] == "demo"
