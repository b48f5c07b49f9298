"""Months, deadlines and compliance states as the pages show them.

The monthly cycle (periods, deadlines, cut-offs) is data of its own; until its selectors exist
these pages derive each month's state from the submissions themselves, with the portal's
default deadlines (SPEC section 7): provisional = 23:59:59 Europe/London on the last working
day of the following month, final = the same on the last working day of the sixth month after.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from submissions.choices import ACCEPTED_STATUSES, FINISHED_STATUSES
from submissions.models import Submission

LONDON = ZoneInfo("Europe/London")

# state: (label, NHS tag colour). Every state is shown as text in its tag, never by colour alone.
STATES: dict[str, tuple[str, str]] = {
    "not_due": ("Not due yet", "grey"),
    "due": ("Due", "blue"),
    "on_time": ("Received on time", "green"),
    "late": ("Received late", "yellow"),
    "missing": ("Missing", "red"),
    "rejected_only": ("Rejected only", "orange"),
}


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def last_working_day_end(month: date) -> datetime:
    """23:59:59 Europe/London on the last weekday of ``month``."""
    day = add_months(month, 1) - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return datetime.combine(day, time(23, 59, 59), tzinfo=LONDON)


def provisional_deadline(month: date) -> datetime:
    return last_working_day_end(add_months(month, 1))


def final_deadline(month: date) -> datetime:
    return last_working_day_end(add_months(month, 6))


def recent_months(*, now: datetime | None = None, count: int = 12,
                  start: date | None = None) -> list[date]:
    """The last ``count`` activity months up to this one, newest first (not before ``start``)."""
    today = timezone.localtime(now or timezone.now(), LONDON).date().replace(day=1)
    months = [add_months(today, -i) for i in range(count)]
    if start is not None:
        months = [m for m in months if m >= start.replace(day=1)]
    return months


@dataclass
class MonthState:
    organisation_code: str
    month: date
    state: str
    provisional_deadline: datetime
    final_deadline: datetime
    live: Submission | None = None
    latest: Submission | None = None
    versions: int = 0
    processing: bool = False
    submissions: list[Submission] = field(default_factory=list)

    @property
    def label(self) -> str:
        return STATES[self.state][0]

    @property
    def colour(self) -> str:
        return STATES[self.state][1]

    @property
    def is_open(self) -> bool:
        return timezone.now() <= self.final_deadline

    @property
    def next_step(self) -> str | None:
        """What the provider needs to do for this month, in words, or None."""
        if self.processing:
            return "A file is being checked."
        if self.state == "due":
            return f"Submit a file by {self.provisional_deadline:%-d %B %Y}."
        if self.state == "rejected_only":
            return "Every file sent was rejected: correct the findings and submit again."
        if self.state == "late" and self.is_open:
            return None
        return None


def _state(month: date, submissions: list[Submission], now: datetime) -> str:
    provisional, final = provisional_deadline(month), final_deadline(month)
    accepted = [s for s in submissions if s.status in ACCEPTED_STATUSES]
    if accepted:
        first = min(s.received_at for s in accepted)
        if first <= provisional:
            return "on_time"
        if first <= final:
            return "late"
    if now < datetime.combine(add_months(month, 1), time(0), tzinfo=LONDON):
        return "not_due"
    if any(s.status not in ACCEPTED_STATUSES for s in submissions if s.is_finished):
        return "rejected_only"
    if now > final:
        return "missing"
    return "due"


def month_states(*, organisation_codes: Iterable[str], months: list[date],
                 now: datetime | None = None) -> dict[tuple[str, date], MonthState]:
    """The state of every (organisation, month) asked for, from one query of submissions."""
    now = now or timezone.now()
    codes = list(organisation_codes)
    by_key: dict[tuple[str, date], list[Submission]] = defaultdict(list)
    queryset = (Submission.objects.filter(organisation_id__in=codes, activity_month__in=months)
                .select_related("submitted_by").defer("counts_by_rule")
                .order_by("-version"))
    for submission in queryset:
        by_key[(submission.organisation_id, submission.activity_month)].append(submission)
    states = {}
    for code in codes:
        for month in months:
            subs = by_key.get((code, month), [])
            states[(code, month)] = MonthState(
                organisation_code=code, month=month, state=_state(month, subs, now),
                provisional_deadline=provisional_deadline(month), final_deadline=final_deadline(month),
                live=next((s for s in subs if s.is_live), None), latest=subs[0] if subs else None,
                versions=len(subs), submissions=subs,
                processing=any(s.status not in FINISHED_STATUSES for s in subs),
            )
    return states


def organisation_months(*, organisation_code: str, in_scope_from: date | None = None,
                        count: int = 12) -> list[MonthState]:
    """One organisation's recent months, newest first, with any older month it sent files for."""
    months = recent_months(count=count, start=in_scope_from)
    older = (Submission.objects.filter(organisation_id=organisation_code)
             .exclude(activity_month__in=months).values_list("activity_month", flat=True).distinct())
    months = sorted({*months, *older}, reverse=True)
    states = month_states(organisation_codes=[organisation_code], months=months)
    return [states[(organisation_code, m)] for m in months]
