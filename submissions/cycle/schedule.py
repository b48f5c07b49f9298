"""The cycle's periodic tasks in django-celery-beat's database schedule.

Cut-offs are checked every 15 minutes (each run catches up on anything missed, so beat
being down at a deadline only delays the cut-off); reminders go out daily at 08:00 London time.
"""

from __future__ import annotations

from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

TASKS = (
    ("DIDS: run due cut-offs", "submissions.tasks.run_due_cutoffs"),
    ("DIDS: deadline reminders", "submissions.tasks.send_deadline_reminders"),
)


@transaction.atomic
def schedule_install() -> list[tuple[str, bool]]:
    every_15, _ = IntervalSchedule.objects.get_or_create(every=15,
                                                         period=IntervalSchedule.MINUTES)
    daily, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="8", day_of_week="*", day_of_month="*", month_of_year="*",
        timezone="Europe/London")
    results = []
    for (name, task), schedule in zip(TASKS, ({"interval": every_15}, {"crontab": daily}),
                                      strict=True):
        _, created = PeriodicTask.objects.update_or_create(
            name=name, defaults={"task": task, "enabled": True, **schedule})
        results.append((name, created))
    return results
