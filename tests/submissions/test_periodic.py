"""The periodic tasks are defined in one table, which beat's schedule and the install share."""

from __future__ import annotations

from io import StringIO

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from dids_portal.celery import app
from submissions.periodic import PERIODIC_TASKS

LISTED = [
    ("DIDS: recover stalled submissions", "submissions.tasks.recover_stalled_submissions"),
    ("DIDS: recover stalled extracts", "submissions.tasks.recover_stalled_extracts"),
    ("DIDS: run due cut-offs", "submissions.tasks.run_due_cutoffs"),
    ("DIDS: deadline reminders", "submissions.tasks.send_deadline_reminders"),
    ("DIDS: archive superseded records", "submissions.tasks.archive_superseded_records"),
    ("DIDS: compact record partitions", "submissions.tasks.compact_record_partitions"),
]


def test_the_table_lists_every_periodic_task() -> None:
    assert [(p.name, p.task) for p in PERIODIC_TASKS] == LISTED


def test_beats_schedule_is_the_table() -> None:
    schedule = app.conf.beat_schedule
    assert [(name, entry["task"]) for name, entry in schedule.items()] == LISTED
    assert schedule["DIDS: recover stalled submissions"]["schedule"] == 60.0
    assert schedule["DIDS: run due cut-offs"]["schedule"] == 900.0
    reminders = schedule["DIDS: deadline reminders"]["schedule"]
    assert isinstance(reminders, crontab)
    assert reminders.hour == {8} and reminders.minute == {0}


def test_every_periodic_task_is_registered_and_routed_to_the_cycle_queue() -> None:
    import submissions.tasks  # noqa: F401  (registers the tasks)

    for entry in PERIODIC_TASKS:
        assert entry.task in app.tasks
        assert settings.CELERY_TASK_ROUTES[entry.task] == {"queue": "cycle"}


@pytest.mark.django_db
def test_the_database_install_writes_the_same_table_once() -> None:
    call_command("setup_cycle_schedule", stdout=StringIO())
    call_command("setup_cycle_schedule", stdout=StringIO())
    rows = PeriodicTask.objects.filter(name__startswith="DIDS: ").order_by("name")
    assert sorted((r.name, r.task) for r in rows) == sorted(LISTED)
    daily = PeriodicTask.objects.get(name="DIDS: archive superseded records").crontab
    assert (daily.hour, daily.minute, str(daily.timezone)) == ("2", "30", "Europe/London")
    assert PeriodicTask.objects.get(name="DIDS: run due cut-offs").interval.every == 900
