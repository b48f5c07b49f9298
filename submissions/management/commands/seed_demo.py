"""Demo data for a first run: the sample reference release, one user per role, and a few
months of generated submissions so that the provider and national pages have something to show.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.choices import Role
from accounts.models import User
from accounts.services import membership_grant

DEMO_USERS: tuple[tuple[str, str, str, str | None, bool], ...] = (
    # email, name, role, organisation, staff
    ("submitter@rr8.demo.nhs.uk", "Sam Submitter (Leeds)", Role.PROVIDER_SUBMITTER, "RR8", False),
    ("viewer@rr8.demo.nhs.uk", "Vic Viewer (Leeds)", Role.PROVIDER_VIEWER, "RR8", False),
    ("submitter@rcd.demo.nhs.uk", "Hana Submitter (Harrogate)", Role.PROVIDER_SUBMITTER, "RCD", False),
    ("analyst@national.demo.nhs.uk", "Nat Analyst (national team)", Role.NATIONAL_ANALYST, None, True),
    ("refadmin@national.demo.nhs.uk", "Rae Admin (reference data)", Role.REFERENCE_ADMIN, None, True),
)


class Command(BaseCommand):
    help = "Load the sample reference data and create demo users (their log-ins are printed once)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--no-submissions", action="store_true",
                            help="Do not generate and submit demo files.")
        parser.add_argument("--reset-passwords", action="store_true",
                            help="Give existing demo users new passwords and print them.")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("load_reference", stdout=self.stdout)
        created: list[tuple[str, str, str]] = []
        with transaction.atomic():
            for email, name, role, org, staff in DEMO_USERS:
                user = User.objects.filter(email=email).first()
                if user is None or options["reset_passwords"]:
                    password = secrets.token_urlsafe(12)
                    if user is None:
                        user = User.objects.create_user(email, password, full_name=name, is_staff=staff)
                    else:
                        user.set_password(password)
                        user.save(update_fields=["password"])
                    created.append((email, password, Role(role).label + (f" of {org}" if org else "")))
                membership_grant(actor=None, user=user, role=role, organisation_code=org,
                                 reason="Demo data")
        if not options["no_submissions"]:
            self._submissions()
        if not created:
            self.stdout.write("Demo users already exist (use --reset-passwords to print new log-ins).")
            return
        self.stdout.write(self.style.WARNING("\nDemo log-ins (shown once; demo data only):"))
        width = max(len(e) for e, _, _ in created)
        for email, password, what in created:
            self.stdout.write(f"  {email:<{width}}  {password}  {what}")
        self.stdout.write("")

    def _submissions(self) -> None:
        """Generated files for the last three complete months: RR8 sends all three (one with
        errors), RCD only the oldest; the other providers send nothing, so they show as due."""
        import io
        from datetime import date

        from django.utils import timezone

        from submissions.engine import generate_file
        from submissions.models import Submission
        from submissions.selectors import reference_snapshot_load
        from submissions.services import submission_create, submission_process

        if Submission.objects.exists():
            return
        snapshot, _release = reference_snapshot_load()
        today = timezone.localdate()
        months = []
        year, month_number = today.year, today.month
        for _ in range(3):
            year, month_number = (year - 1, 12) if month_number == 1 else (year, month_number - 1)
            months.append(date(year, month_number, 1))
        plan = [("RR8", m, 0.0 if i else 0.02) for i, m in enumerate(months)] + [("RCD", months[-1], 0.0)]
        for organisation, month, error_rate in plan:
            version = "2.0" if month >= date(2026, 4, 1) else "1.0"
            buffer = io.BytesIO()
            generate_file(buffer, rows=400, org=organisation, month=month, dataset_version=version,
                          reference=snapshot, error_rate=error_rate, seed=month.month)
            buffer.seek(0)
            submission, _created = submission_create(
                actor=None, organisation_code=organisation, activity_month=month, upload=buffer,
                original_name=f"demo-{organisation}-{month:%Y-%m}.csv", enqueue=lambda pk: None)
            submission_process(submission_id=submission.pk)
            submission.refresh_from_db()
            self.stdout.write(f"Demo submission: {organisation} {month:%Y-%m} {submission.status}")
