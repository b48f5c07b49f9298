"""Months and compliance states as the pages show them, from the monthly cycle's selectors
(``submissions.cycle.selectors``): each state has an NHS tag colour, and is always shown with
its text, never by colour alone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.utils import timezone

from submissions.choices import FINISHED_STATUSES, ComplianceState
from submissions.cycle.provider_months import provider_month_statuses
from submissions.cycle.timetable import add_months

TAG_COLOURS: dict[str, str] = {
    ComplianceState.NOT_DUE: "grey",
    ComplianceState.DUE: "blue",
    ComplianceState.ON_TIME: "green",
    ComplianceState.LATE: "yellow",
    ComplianceState.MISSING: "red",
    ComplianceState.REJECTED_ONLY: "orange",
}
STATES: dict[str, tuple[str, str]] = {
    state.value: (state.label, TAG_COLOURS[state]) for state in ComplianceState
}


def recent_months(*, count: int = 12, start: date | None = None,
                  now: datetime | None = None) -> list[date]:
    """The last ``count`` activity months up to this one, newest first (not before ``start``)."""
    this_month = timezone.localdate(now or timezone.now()).replace(day=1)
    months = [add_months(this_month, -i) for i in range(count)]
    if start is not None:
        months = [m for m in months if m >= start.replace(day=1)]
    return months


@dataclass
class MonthRow:
    """One month of one organisation, for the provider pages."""

    month: date
    state: str
    label: str
    provisional_deadline: datetime
    final_deadline: datetime
    live_submission_id: int | None
    live_version: int | None
    versions: int
    processing: bool
    locked: bool
    reopened_until: datetime | None
    quality: float | None

    @property
    def overdue(self) -> bool:
        """Past its provisional deadline with no accepted file, and still open."""
        return (self.state in (ComplianceState.DUE, ComplianceState.REJECTED_ONLY)
                and not self.locked and timezone.now() > self.provisional_deadline)

    @property
    def tag(self) -> str:
        """The month's tag text: its state, or "Overdue" once its provisional deadline passed."""
        if self.overdue:
            return "Overdue" if self.state == ComplianceState.DUE else "Overdue: every file rejected"
        return self.label

    @property
    def colour(self) -> str:
        return "red" if self.overdue else TAG_COLOURS.get(self.state, "grey")

    @property
    def urgency(self) -> tuple[int, datetime]:
        """Sort key of the next steps: overdue first, then due, each by its nearest deadline."""
        if self.overdue:
            return (0, self.final_deadline)
        if self.state in (ComplianceState.DUE, ComplianceState.REJECTED_ONLY) and not self.locked:
            return (1, self.provisional_deadline)
        return (2, self.provisional_deadline)

    @property
    def next_step(self) -> str | None:
        """What the provider needs to do for this month, in words, or None."""
        if self.processing:
            return "A file is being checked."
        if self.locked:
            return None
        if self.state == ComplianceState.DUE:
            if timezone.now() > self.provisional_deadline:
                return (f"Overdue: submit a file by the final deadline, "
                        f"{self.final_deadline:%-d %B %Y}.")
            return f"Submit a file by {self.provisional_deadline:%-d %B %Y}."
        if self.state == ComplianceState.REJECTED_ONLY:
            return "Every file sent was rejected: correct the findings and submit again."
        return None


def _row(status: Any) -> MonthRow:
    return MonthRow(
        month=status.month, state=status.state, label=status.state_label,
        provisional_deadline=status.provisional_deadline, final_deadline=status.final_deadline,
        live_submission_id=status.live_submission_id, live_version=status.live_version,
        versions=len(status.versions),
        processing=any(v["status"] not in FINISHED_STATUSES for v in status.versions),
        locked=status.locked, reopened_until=status.reopened_until, quality=status.quality)


def organisation_months(*, organisation_code: str) -> list[MonthRow]:
    """One organisation's months of the last year, newest first."""
    return [_row(s) for s in provider_month_statuses(organisation_code=organisation_code)]
