"""The history ``seed_demo`` builds: what a national team sees over its last six months.

Pure planning, no database: given the months, their deadlines and the time now, which demo
provider sends which file when. Most providers send on time: some by a scheduled job early on
the first working day, some close to the provisional deadline. A few send late (between the
deadlines); one misses a month; one sends only a file that is rejected; one resubmits after
the provisional cut-off, so its newer version is live while the cut-off keeps the older one. Nothing is received after ``now``: a file planned for
later has simply not arrived yet, so the newest month fills up as real time passes.

The story is placed relative to today (``back`` = 1 is last month), so every six-month window
tells it; the files themselves are generated with seeds fixed by organisation and month.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from submissions.cycle.timetable import LONDON, Deadlines, add_months, is_working_day
from submissions.engine import load_layouts

HISTORY_MONTHS = 6

# Sample-release providers that send demo files: (code, rows a month, share of planted errors).
# RY6 has no site in the sample release, so it cannot send a file and shows as due.
PROVIDERS: tuple[tuple[str, int, float], ...] = (
    ("RR8", 400, 0.01), ("RCD", 200, 0.0), ("RJ1", 350, 0.02), ("RXH", 250, 0.01),
    ("RAJ", 250, 0.03), ("RXT", 100, 0.0), ("RYX", 120, 0.02), ("TAJ", 100, 0.01),
    ("NT3", 150, 0.0), ("NVC", 120, 0.01),
)
# What happens to an organisation in a month: (code, months back), 1 being last month.
LATE = {("NT3", 5), ("RCD", 4), ("RAJ", 3)}
MISSING = {("NVC", 4)}
REJECTED_ONLY = {("TAJ", 2)}
RESUBMITTED = {("RR8", 3)}
# Providers whose system sends the file early on the first working day after the month.
SCHEDULED = {"RJ1", "NT3"}
# Providers that send in the last two working days before the provisional deadline.
CLOSE_TO_DEADLINE = {"RYX"}


@dataclass(frozen=True)
class DemoReceipt:
    organisation: str
    month: date
    received_at: datetime
    rows: int
    error_rate: float
    seed: int
    rejected: bool = False  # a misnamed column: the whole file is rejected
    story: str = "on time"


def dataset_version_for(month: date) -> str:
    """The layout a month's activity is sent in (v2.0 from April 2026), as the layouts say."""
    return load_layouts().version_for(month)


def history_months(today: date) -> list[date]:
    """The last ``HISTORY_MONTHS`` complete activity months, oldest first."""
    this_month = today.replace(day=1)
    return [add_months(this_month, -back) for back in range(HISTORY_MONTHS, 0, -1)]


def _working_days(month: date) -> list[date]:
    day, days = month, []
    while day.month == month.month:
        if is_working_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def _office_hours(day: date, rng: random.Random) -> datetime:
    """A time on a working day that a person would send a file: 08:30 to 17:30 UK time."""
    minutes = rng.randrange(8 * 60 + 30, 17 * 60 + 30)
    return datetime.combine(day, time(minutes // 60, minutes % 60, rng.randrange(60)),
                            tzinfo=LONDON)


def _on_time(month: date, deadlines: Deadlines, rng: random.Random, code: str) -> datetime:
    """In the month after the activity month, before its provisional deadline."""
    days = [d for d in _working_days(add_months(month, 1))
            if datetime.combine(d, time(17, 30), tzinfo=LONDON) < deadlines.provisional]
    if not days:  # a timetable row moved the deadline into the activity month's own month
        return deadlines.provisional - timedelta(hours=1)
    if code in SCHEDULED:
        return datetime.combine(days[0], time(6, rng.randrange(60), rng.randrange(60)),
                                tzinfo=LONDON)
    return _office_hours(rng.choice(days[-2:] if code in CLOSE_TO_DEADLINE else days[:12]), rng)


def _late(month: date, deadlines: Deadlines, rng: random.Random) -> datetime:
    """A few working days after the provisional deadline, well before the final one."""
    after = deadlines.provisional.astimezone(LONDON).date() + timedelta(days=1)
    days = [d for d in _working_days(after.replace(day=1)) + _working_days(add_months(after, 1))
            if d >= after][:12]
    received = _office_hours(rng.choice(days[2:] or days), rng)
    return min(received, deadlines.final - timedelta(hours=1))


def demo_plan(*, months: list[date], deadlines: dict[date, Deadlines],
              now: datetime) -> list[DemoReceipt]:
    """Every demo receipt of ``months`` (oldest first) up to ``now``, in the order received."""
    receipts: list[DemoReceipt] = []
    for position, month in enumerate(months):
        back = len(months) - position
        for code, rows, error_rate in PROVIDERS:
            if (code, back) in MISSING:
                continue
            seed = zlib.crc32(f"{code}:{month:%Y-%m}".encode())
            rng = random.Random(seed)
            size = max(10, round(rows * rng.uniform(0.9, 1.1)))
            when = deadlines[month]
            if (code, back) in LATE:
                receipts.append(DemoReceipt(code, month, _late(month, when, rng), size,
                                            error_rate, seed, story="sent late"))
            elif (code, back) in REJECTED_ONLY:
                receipts.append(DemoReceipt(code, month, _on_time(month, when, rng, code), size,
                                            error_rate, seed, rejected=True,
                                            story="sent a file that was rejected"))
            elif (code, back) in RESUBMITTED:
                receipts.append(DemoReceipt(code, month, _on_time(month, when, rng, code), size,
                                            0.03, seed))
                receipts.append(DemoReceipt(code, month, _late(month, when, rng), size, 0.0,
                                            seed + 1, story="resubmitted after the provisional "
                                                            "cut-off"))
            else:
                receipts.append(DemoReceipt(code, month,
                                            _on_time(month, when, rng, code),
                                            size, error_rate, seed))
    return sorted((r for r in receipts if r.received_at <= now), key=lambda r: r.received_at)
