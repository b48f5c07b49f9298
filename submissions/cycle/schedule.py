"""The portal's periodic tasks (``submissions.periodic.PERIODIC_TASKS``) in django-celery-beat's
database schedule, installed ahead of beat (which writes the same rows when it starts).

Cut-offs are checked every 15 minutes (each run catches up on anything missed, so beat
being down at a deadline only delays the cut-off); reminders go out daily at 08:00 London
time; superseded records are archived daily at 02:30.
"""

from __future__ import annotations

from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from submissions.periodic import PERIODIC_TASKS, TIMEZONE


@transaction.atomic
def schedule_install() -> list[tuple[str, bool]]:
    results = []
    for entry in PERIODIC_TASKS:
        schedule: dict[str, object]
        if entry.daily_at is not None:
            hour, minute = entry.daily_at
            crontab, _ = CrontabSchedule.objects.get_or_create(
                minute=str(minute), hour=str(hour), day_of_week="*", day_of_month="*",
                month_of_year="*", timezone=TIMEZONE)
            schedule = {"crontab": crontab, "interval": None}
        else:
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=entry.every_seconds, period=IntervalSchedule.SECONDS)
            schedule = {"interval": interval, "crontab": None}
        _, created = PeriodicTask.objects.update_or_create(
            name=entry.name, defaults={"task": entry.task, "enabled": True, **schedule})
        results.append((entry.name, created))
    return results
