"""The timetable: default deadlines, clock changes, bank holidays, the lock and reopenings."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from dids_portal.lib.errors import DomainError
from submissions.choices import Channel, SubmissionStatus
from submissions.cycle.services import period_ensure, period_reopen, period_update
from submissions.cycle.timetable import (
    LONDON,
    bank_holidays,
    default_deadlines,
    is_working_day,
    last_working_day,
    working_days_before,
)
from submissions.models import PeriodReopening, Submission
from submissions.services import submission_create
from tests.submissions.conftest import MONTH, upload_of
from tests.submissions.cycle_helpers import submit_at

HAND_KEPT = Path(__file__).parent / "data" / "bank_holidays_england_wales.csv"
FINAL_JUNE_2026 = datetime(2026, 12, 31, 23, 59, 59, tzinfo=LONDON)


def test_provisional_deadline_is_end_of_last_working_day_of_following_month_in_summer_time():
    deadline = default_deadlines(date(2026, 6, 1)).provisional
    assert deadline.astimezone(UTC) == datetime(2026, 7, 31, 22, 59, 59, tzinfo=UTC)


def test_final_deadline_is_last_working_day_of_sixth_month_after():
    assert default_deadlines(date(2026, 6, 1)).final == FINAL_JUNE_2026
    assert FINAL_JUNE_2026.astimezone(UTC).hour == 23  # GMT in December


def test_deadline_in_the_week_clocks_go_back_is_in_greenwich_time():
    # Clocks went back on Sunday 25 October 2026; the deadline is Friday 30 October.
    deadline = default_deadlines(date(2026, 9, 1)).provisional
    assert deadline.astimezone(UTC) == datetime(2026, 10, 30, 23, 59, 59, tzinfo=UTC)


def test_deadline_in_the_week_clocks_go_forward_is_in_summer_time():
    # Clocks go forward on Sunday 28 March 2027; the deadline is Wednesday 31 March.
    deadline = default_deadlines(date(2027, 2, 1)).provisional
    assert deadline.astimezone(UTC) == datetime(2027, 3, 31, 22, 59, 59, tzinfo=UTC)


def test_bank_holiday_on_the_last_day_moves_the_deadline_back():
    # Monday 31 August 2026 is the summer bank holiday: the last working day is Friday 28th.
    assert date(2026, 8, 31) in bank_holidays(2026)
    assert last_working_day(date(2026, 8, 1)) == date(2026, 8, 28)
    assert default_deadlines(date(2026, 2, 1)).final.date() == date(2026, 8, 28)


def test_christmas_substitute_days_are_not_working_days():
    assert not is_working_day(date(2027, 12, 27))
    assert not is_working_day(date(2027, 12, 28))
    assert last_working_day(date(2027, 12, 1)) == date(2027, 12, 31)


def test_working_days_before_skips_weekends_and_bank_holidays():
    # Tuesday 1 September 2026: one working day before is Friday 28 August (the 31st is a
    # bank holiday), two is Thursday 27th.
    assert working_days_before(date(2026, 9, 1), 1) == date(2026, 8, 28)
    assert working_days_before(date(2026, 9, 1), 2) == date(2026, 8, 27)


def test_bank_holidays_match_the_gov_uk_dates_the_portal_kept_by_hand():
    # The GOV.UK list (2012-2030) the portal kept as a CSV before it used the holidays package.
    lines = [line for line in HAND_KEPT.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    kept = {date.fromisoformat(row["date"]) for row in csv.DictReader(lines)}
    weekdays_off = {day for year in range(2012, 2031) for day in bank_holidays(year)
                    if day.weekday() < 5}
    assert weekdays_off == kept


def test_years_beyond_the_announced_ones_still_have_their_bank_holidays():
    assert not is_working_day(date(2099, 12, 25))
    assert is_working_day(date(2099, 12, 24))


@pytest.mark.django_db
def test_period_is_created_with_the_default_deadlines_and_history():
    period = period_ensure(month="2026-06")
    assert period.final_deadline == FINAL_JUNE_2026
    assert period.history.count() == 1


@pytest.mark.django_db
def test_timetable_edit_keeps_history_with_the_user(analyst):
    new = datetime(2026, 8, 7, 23, 59, 59, tzinfo=LONDON)
    period = period_update(actor=analyst, month="2026-06", provisional_deadline=new,
                           reason="Extended: system outage")
    assert period.provisional_deadline == new
    latest = period.history.first()
    assert latest.history_user == analyst
    assert latest.history_change_reason == "Extended: system outage"


@pytest.mark.django_db
def test_upload_at_the_final_deadline_instant_is_accepted(submitter, make_file):
    submission = submit_at(submitter, make_file(rows=5), FINAL_JUNE_2026, process=False)
    assert submission.status == SubmissionStatus.RECEIVED


@pytest.mark.django_db
def test_upload_after_the_final_deadline_is_refused_with_a_clear_message(submitter, make_file):
    with pytest.raises(DomainError) as error:
        submit_at(submitter, make_file(rows=5), FINAL_JUNE_2026 + timedelta(seconds=1))
    assert error.value.code == "month_locked"
    assert "June 2026 closed for submissions" in error.value.message
    assert "31 December 2026" in error.value.message


@pytest.mark.django_db
def test_lock_follows_an_edited_timetable(submitter, analyst, make_file):
    period_update(actor=analyst, month=MONTH,
                  final_deadline=datetime(2026, 9, 30, 23, 59, 59, tzinfo=LONDON))
    with pytest.raises(DomainError):
        submit_at(submitter, make_file(rows=5), datetime(2026, 10, 1, 9, 0, tzinfo=LONDON))


@pytest.mark.django_db
def test_reopening_lets_one_organisation_submit_until_it_expires(submitter, analyst,
                                                                  other_provider_user, make_file):
    opened_at = FINAL_JUNE_2026 + timedelta(days=10)
    import time_machine

    with time_machine.travel(opened_at, tick=False):
        reopening = period_reopen(actor=analyst, organisation_code="RR8", month=MONTH,
                                  reason="Late RIS migration", expires_at=opened_at + timedelta(days=7))
    submission = submit_at(submitter, make_file(rows=5), opened_at + timedelta(days=1),
                           process=False)
    assert submission.version == 1
    with pytest.raises(DomainError):  # another organisation stays locked
        submit_at(other_provider_user, make_file(rows=5, org="RCD"), opened_at + timedelta(days=1),
                  org="RCD")
    with pytest.raises(DomainError):  # after expiry, locked again
        submit_at(submitter, make_file(rows=5), opened_at + timedelta(days=8))
    assert reopening.history.first().history_user == analyst
    assert PeriodReopening.objects.get().reason == "Late RIS migration"


@pytest.mark.django_db
def test_reopening_needs_a_reason(analyst):
    with pytest.raises(DomainError) as error:
        period_reopen(actor=analyst, organisation_code="RR8", month=MONTH, reason=" ",
                      expires_at=datetime(2099, 1, 1, tzinfo=UTC))
    assert error.value.code == "reason_required"


@pytest.mark.django_db
def test_reopening_is_written_to_the_audit_trail(analyst):
    from accounts.models import AuditEvent

    period_reopen(actor=analyst, organisation_code="RR8", month=MONTH, reason="RIS outage",
                  expires_at=datetime(2099, 1, 1, tzinfo=UTC))
    event = AuditEvent.objects.get(action="period_reopened")
    assert event.organisation_code == "RR8"
    assert event.after["reason"] == "RIS outage"


@pytest.mark.django_db
def test_months_outside_the_calendar_or_too_long_a_range_are_refused(api_client_for, analyst):
    client = api_client_for(analyst)
    assert client.get("/api/periods/9999-12/").status_code == 400
    assert client.get("/api/compliance/?start=0001-01&end=9999-12").status_code == 400


def _demo_receipt(path, received_at, *, channel=Channel.DEMO):
    submission, _ = submission_create(
        actor=None, organisation_code="RR8", activity_month=MONTH, upload=upload_of(path),
        original_name=path.name, channel=channel, received_at=received_at,
        enqueue=lambda pk: None)
    return submission


@pytest.mark.django_db
def test_demo_data_received_before_the_lock_is_accepted_after_it(rr8, make_file):
    received_at = FINAL_JUNE_2026 - timedelta(days=150)
    with time_machine.travel(FINAL_JUNE_2026 + timedelta(days=10), tick=False):
        submission = _demo_receipt(make_file(rows=5), received_at)
    assert submission.received_at == submission.as_of == received_at
    assert submission.channel == Channel.DEMO and submission.version == 1


@pytest.mark.django_db
def test_demo_data_received_after_the_final_deadline_is_refused(rr8, make_file):
    with (time_machine.travel(FINAL_JUNE_2026 + timedelta(days=10), tick=False),
          pytest.raises(DomainError) as error):
        _demo_receipt(make_file(rows=5), FINAL_JUNE_2026 + timedelta(seconds=1))
    assert error.value.code == "month_locked"


@pytest.mark.django_db
def test_a_past_receipt_time_is_refused_for_anything_but_demo_data(rr8, make_file):
    with pytest.raises(DomainError) as error:
        _demo_receipt(make_file(rows=5), FINAL_JUNE_2026 - timedelta(days=150),
                      channel=Channel.CLI)
    assert error.value.code == "backdated_receipt"
    assert not Submission.objects.exists()


@pytest.mark.django_db
def test_a_demo_receipt_time_in_the_future_is_refused(rr8, make_file):
    with pytest.raises(DomainError) as error:
        _demo_receipt(make_file(rows=5), timezone.now() + timedelta(hours=1))
    assert error.value.code == "backdated_receipt"
