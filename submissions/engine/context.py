"""What a file is checked against: who submits, for which month, at what time."""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class CheckContext:
    submitting_org: str | None = None
    month: date | None = None  # the activity month (any day in it); None = not fixed
    as_of: datetime | None = None  # the time of submission (aware); None = now
    dataset_version: str | None = None  # "1.0" / "2.0"; None = from the month or the file
    # The activity month's final deadline (aware), when the caller knows it: a message about
    # late records (DIDS055) names it.
    final_deadline: datetime | None = None
    # The month is reopened for the submitting organisation at as_of: its records are not too
    # late to submit (DIDS055), although the month's final deadline has passed.
    reopened: bool = False

    def __post_init__(self) -> None:
        for name in ("as_of", "final_deadline"):
            moment = getattr(self, name)
            if moment is not None and moment.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware")
        if self.month is not None:
            object.__setattr__(self, "month", self.month.replace(day=1))

    @property
    def as_of_utc(self) -> datetime:
        return (self.as_of or datetime.now(UTC)).astimezone(UTC)

    @property
    def as_of_local_date(self) -> date:
        return self.as_of_utc.astimezone(LONDON).date()

    @property
    def submission_month_start(self) -> date:
        return self.as_of_local_date.replace(day=1)

    @property
    def month_end(self) -> date | None:
        if self.month is None:
            return None
        return add_months(self.month, 1) - timedelta(days=1)


def add_months(day: date, months: int) -> date:
    """Calendar month arithmetic, clamping the day to the end of the target month.

    The project's one month arithmetic (the timetable and the pages use it too). A result
    outside years 1-9999 raises ValueError.
    """
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    if not MINYEAR <= year <= MAXYEAR:
        raise ValueError(f"{year:04d}-{month + 1:02d} is outside the calendar")
    return date(year, month + 1, min(day.day, monthrange(year, month + 1)[1]))


def parse_month(value: str) -> date:
    """The first day of a month written YYYY-MM: the project's one month parser."""
    try:
        year, month = (int(part) for part in value.strip().split("-"))
        return date(year, month, 1)
    except ValueError as exc:
        raise ValueError(f"a month is written YYYY-MM, got {value!r}") from exc
