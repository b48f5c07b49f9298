"""Every periodic task of the portal, in one table.

Beat's schedule (``CELERY_BEAT_SCHEDULE`` in settings, which django-celery-beat's database
scheduler writes to its tables when beat starts) and ``setup_cycle_schedule`` (which installs
the same rows in the database ahead of beat) both come from ``PERIODIC_TASKS``. Pure data: the
settings import it, so it imports no model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from celery.schedules import crontab

TIMEZONE = "Europe/London"


@dataclass(frozen=True)
class Periodic:
    name: str
    task: str
    # Either every so many seconds, or daily at (hour, minute) London time.
    every_seconds: int | None = None
    daily_at: tuple[int, int] | None = None
    why: str = ""


PERIODIC_TASKS: tuple[Periodic, ...] = (
    Periodic("DIDS: recover stalled submissions", "submissions.tasks.recover_stalled_submissions",
             every_seconds=60, why="queue again the versions whose worker died"),
    Periodic("DIDS: recover stalled extracts", "submissions.tasks.recover_stalled_extracts",
             every_seconds=60, why="queue again the extracts whose worker died"),
    Periodic("DIDS: run due cut-offs", "submissions.tasks.run_due_cutoffs",
             every_seconds=15 * 60, why="each run catches up on any cut-off missed"),
    Periodic("DIDS: deadline reminders", "submissions.tasks.send_deadline_reminders",
             daily_at=(8, 0), why="e-mail organisations owing a month"),
    Periodic("DIDS: archive superseded records", "submissions.tasks.archive_superseded_records",
             daily_at=(2, 30), why="superseded records no cut-off took move to Parquet"),
    Periodic("DIDS: compact record partitions", "submissions.tasks.compact_record_partitions",
             daily_at=(3, 30), why="months with many records archived give the space back"),
)


def beat_schedule() -> dict[str, dict[str, Any]]:
    """``CELERY_BEAT_SCHEDULE``, keyed by the same names the database install uses."""
    schedule: dict[str, dict[str, Any]] = {}
    for entry in PERIODIC_TASKS:
        if entry.daily_at is not None:
            hour, minute = entry.daily_at
            when: Any = crontab(minute=str(minute), hour=str(hour))
        else:
            when = float(entry.every_seconds or 60)
        schedule[entry.name] = {"task": entry.task, "schedule": when}
    return schedule
