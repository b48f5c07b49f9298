"""Deadlines: the timetable's rows, or the spec's defaults from England and Wales bank holidays.

Default provisional deadline: 23:59:59 Europe/London on the last working day of the month
after the activity month; default final deadline: the same on the last working day of the
sixth month after it. Working days are Monday to Friday except England and Wales bank
holidays, from the ``holidays`` package (United Kingdom, subdivision England; Wales keeps the
same days). A holiday on a weekend counts through its weekday substitute, which the package
gives as an "observed" day.

The package is loaded when a deadline is first worked out, and then only its United Kingdom
module: ``holidays.country_holidays`` imports the module of every country it knows (``holidays
.countries``), a quarter of a second of a command's start-up.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from dids_portal.lib.errors import DomainError
from submissions.engine import context
from submissions.engine.context import LONDON

__all__ = ["LONDON", "Deadlines", "add_months", "bank_holidays", "default_deadlines",
           "end_of_day", "is_working_day", "last_working_day", "working_days_before"]
DEADLINE_TIME = time(23, 59, 59)
PROVISIONAL_MONTHS_AFTER = 1
FINAL_MONTHS_AFTER = 6


UK_MODULE = "holidays.countries.united_kingdom"
# The module is in sys.modules before it has run: a second thread (gunicorn's gthread workers)
# must wait for the first to finish loading it, not read a half-loaded module.
_UK_LOCK = threading.Lock()


@functools.cache
def _united_kingdom() -> Any:
    """holidays' UnitedKingdom class, its module loaded under its own name without the package
    of every country (which, imported later, finds it in sys.modules and uses it)."""
    with _UK_LOCK:
        return _united_kingdom_load()


def _united_kingdom_load() -> Any:
    if UK_MODULE not in sys.modules:
        import holidays

        spec = importlib.util.spec_from_file_location(
            UK_MODULE, Path(holidays.__file__).parent / "countries" / "united_kingdom.py")
        if spec is None or spec.loader is None:  # pragma: no cover - an installation without it
            return functools.partial(holidays.country_holidays, "GB")  # the same call, slower
        module = importlib.util.module_from_spec(spec)
        sys.modules[UK_MODULE] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[UK_MODULE]
            raise
    return sys.modules[UK_MODULE].UnitedKingdom


@functools.cache
def bank_holidays(year: int) -> frozenset[date]:
    """England and Wales bank holidays of a year, with the weekday substitutes of weekend ones."""
    return frozenset(_united_kingdom()(subdiv="ENG", years=year))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in bank_holidays(day.year)


def month_start(value: date | str) -> date:
    """The first day of an activity month given as a date or 'YYYY-MM'."""
    if isinstance(value, date):
        return value.replace(day=1)
    try:
        return context.parse_month(str(value).strip()[:7])
    except ValueError as exc:
        raise DomainError(f"The activity month must be YYYY-MM, got {value!r}.",
                          code="invalid_month") from exc


def add_months(month: date, months: int) -> date:
    """The first day of the month ``months`` after ``month``'s (the engine's arithmetic)."""
    try:
        return context.add_months(month.replace(day=1), months)
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
    return _default_deadlines(month.replace(day=1))


# Remembered per process: a pure function of the month (the holidays of a year never change
# within a process), asked for each month of every register and month status request.
@functools.lru_cache(maxsize=1024)
def _default_deadlines(month: date) -> Deadlines:
    return Deadlines(
        provisional=end_of_day(last_working_day(add_months(month, PROVISIONAL_MONTHS_AFTER))),
        final=end_of_day(last_working_day(add_months(month, FINAL_MONTHS_AFTER))),
    )
