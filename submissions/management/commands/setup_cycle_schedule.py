"""python manage.py setup_cycle_schedule: register the cycle's beat tasks (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from submissions.cycle.schedule import schedule_install


class Command(BaseCommand):
    help = ("Register the monthly cycle's periodic tasks in django-celery-beat: due cut-offs "
            "every 15 minutes and deadline reminders daily. Safe to run again.")

    def handle(self, *args: Any, **options: Any) -> None:
        for name, created in schedule_install():
            self.stdout.write(f"{'created' if created else 'up to date'}: {name}")
