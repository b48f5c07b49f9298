"""The lock: after a month's final deadline its uploads are refused, unless reopened."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from dids_portal.lib.errors import DomainError
from submissions.cycle.timetable import LONDON, default_deadlines
from submissions.models import PeriodReopening, ReportingPeriod


def final_deadline_of(month: date) -> datetime:
    """The month's window close: the timetable's row, or the default when it has none."""
    period = ReportingPeriod.objects.filter(activity_month=month).first()
    return period.final_deadline if period else default_deadlines(month).final


def open_months(*, organisation_code: str, months: list[date], at: datetime) -> list[date]:
    """Those of ``months`` that take a file from this organisation at ``at`` (two queries)."""
    closing = {p.activity_month: p.final_deadline
               for p in ReportingPeriod.objects.filter(activity_month__in=months)}
    reopened = set(PeriodReopening.objects.filter(
        period__activity_month__in=months, organisation_id=organisation_code,
        granted_at__lte=at, expires_at__gt=at).values_list("period__activity_month", flat=True))
    return [m for m in months
            if at <= closing.get(m, default_deadlines(m).final) or m in reopened]


@dataclass(frozen=True)
class MonthWindow:
    """What a check of a month's file at some time needs to know about the month's window."""

    final_deadline: datetime
    reopened: bool  # past the final deadline, but reopened for the organisation


def month_window(*, organisation_code: str, month: date, at: datetime) -> MonthWindow:
    """The month's final deadline, and whether it is reopened for this organisation at ``at``
    (its records then are not too late to submit)."""
    deadline = final_deadline_of(month)
    reopened = at > deadline and bool(open_months(organisation_code=organisation_code,
                                                  months=[month], at=at))
    return MonthWindow(final_deadline=deadline, reopened=reopened)


def month_open_check(*, organisation_code: str, month: date, at: datetime) -> None:
    """Raise DomainError if the month is locked at ``at`` for this organisation."""
    if open_months(organisation_code=organisation_code, months=[month], at=at):
        return
    deadline = final_deadline_of(month)
    raise DomainError(
        f"{month:%B %Y} closed for submissions at {deadline.astimezone(LONDON):%H:%M:%S on %d %B %Y} "
        "(UK time). Ask the national DIDS team to reopen it for your organisation if you must "
        "resubmit.", code="month_locked", status_code=409)
