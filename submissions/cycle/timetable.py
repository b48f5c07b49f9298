"""Deadlines: the timetable's rows, or the spec's defaults from the bank holidays data file.

Default provisional deadline: 23:59:59 Europe/London on the last working day of the month
after the activity month; default final deadline: the same on the last working day of the
sixth month after it. Working days are Monday to Friday except England and Wales bank
holidays, read from ``submissions/data/bank_holidays_england_wales.csv``.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from dids_portal.lib.errors import DomainError

LONDON = ZoneInfo("Europe/London")
BANK_HOLIDAYS_FILE = Path(__file__).resolve().parent.parent / "data" / "bank_holidays_england_wales.csv"
DEADLINE_TIME = time(23, 59, 59)
PROVISIONAL_MONTHS_AFTER = 1
FINAL_MONTHS_AFTER = 6


@functools.cache
def bank_holidays() -> frozenset[date]:
    with BANK_HOLIDAYS_FILE.open(encoding="utf-8") as handle:
        lines = (line for line in handle if line.strip() and not line.startswith("#"))
        return frozenset(date.fromisoformat(row["date"]) for row in csv.DictReader(lines))


def _covered(year: int) -> bool:
    return any(day.year == year for day in bank_holidays())


def is_working_day(day: date) -> bool:
    if not _covered(day.year):
        raise DomainError(f"No bank holidays are known for {day.year}: add them to "
                          f"{BANK_HOLIDAYS_FILE.name}.", code="timetable_unknown_year")
    return day.weekday() < 5 and day not in bank_holidays()


def add_months(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    try:
        return date(index // 12, index % 12 + 1, 1)
    except ValueError as exc:
        raise DomainError("That month is outside the calendar.", code="invalid_month") from exc


def last_working_day(month: date) -> date:
    day = add_months(month, 1) - timedelta(days=1)
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


def working_days_before(day: date, count: int) -> date:
    """The working day ``count`` working days before ``day``."""
    while count > 0:
        day -= timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day


def end_of_day(day: date) -> datetime:
    """23:59:59 London time on that day, whatever its UTC offset (GMT or BST)."""
    return datetime.combine(day, DEADLINE_TIME, tzinfo=LONDON)


@dataclass(frozen=True)
class Deadlines:
    provisional: datetime
    final: datetime


def default_deadlines(month: date) -> Deadlines:
    month = month.replace(day=1)
    return Deadlines(
        provisional=end_of_day(last_working_day(add_months(month, PROVISIONAL_MONTHS_AFTER))),
        final=end_of_day(last_working_day(add_months(month, FINAL_MONTHS_AFTER))),
    )
