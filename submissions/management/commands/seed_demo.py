"""Demo data for a first run: the sample reference release, one user per role, and six months
of generated submissions received at the times they would have arrived, with the cut-offs of
every month whose deadline has passed, so that the provider and national pages tell a story.
"""

from __future__ import annotations

import io
import secrets
import time
from collections import Counter, defaultdict
from datetime import date, datetime
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.choices import Role
from accounts.models import User
from accounts.services import membership_grant
from dids_portal.lib.errors import DomainError
from submissions.choices import Channel, CutOffKind
from submissions.cycle.selectors import period_deadlines
from submissions.cycle.services import period_cut_off
from submissions.demo import DemoReceipt, dataset_version_for, demo_plan, history_months
from submissions.engine import ReferenceSnapshot, generate_file
from submissions.models import CutOff, Submission
from submissions.selectors import reference_snapshot_load
from submissions.services import submission_create, submission_process

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
        parser.add_argument("--rows", type=int, default=None,
                            help="Rows in every demo file (default: a few hundred, by provider).")
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
        if options["rows"] is not None and options["rows"] < 10:
            raise CommandError("--rows must be at least 10.")
        if not options["no_submissions"]:
            self._history(rows=options["rows"])
        if not created:
            self.stdout.write("Demo users already exist (use --reset-passwords to print new log-ins).")
            return
        self.stdout.write(self.style.WARNING("\nDemo log-ins (shown once; demo data only):"))
        width = max(len(e) for e, _, _ in created)
        for email, password, what in created:
            self.stdout.write(f"  {email:<{width}}  {password}  {what}")
        self.stdout.write("")

    def _history(self, *, rows: int | None) -> None:
        """Six months of demo receipts at the times they would have arrived, then the cut-offs
        of every month whose deadline has passed (see ``submissions.demo``).

        Idempotent: an organisation and month that already holds a version receives nothing
        more, nor does a month before the deadline of a cut-off that has run (the frozen product
        stays true), and cut-offs run once. Run again later, it fills in the newer months.
        """
        started = time.perf_counter()
        now = timezone.now()
        months = history_months(timezone.localdate())
        plan = demo_plan(months=months, deadlines=period_deadlines(months), now=now)
        frozen_until: dict[date, datetime] = {}
        for month, deadline in CutOff.objects.values_list("period__activity_month", "deadline"):
            frozen_until[month] = max(deadline, frozen_until.get(month, deadline))
        filled = set(Submission.objects.filter(activity_month__in=months)
                     .values_list("organisation_id", "activity_month"))
        snapshot, _release = reference_snapshot_load()
        added: Counter[date] = Counter()
        stories: dict[date, list[str]] = defaultdict(list)
        for receipt in plan:
            frozen = frozen_until.get(receipt.month)
            if ((receipt.organisation, receipt.month) in filled
                    or (frozen is not None and receipt.received_at <= frozen)):
                continue
            self._receive(receipt, snapshot, rows)
            added[receipt.month] += 1
            if receipt.story != "on time":
                stories[receipt.month].append(f"{receipt.organisation} {receipt.story}")
        demo_months = set(Submission.objects.filter(channel=Channel.DEMO)
                          .values_list("activity_month", flat=True))
        for month in sorted(set(months) | demo_months):
            self._cut_off(month, now)
            self.stdout.write(f"Demo {month:%Y-%m}: {added[month]} file(s) added; "
                              + self._describe(month)
                              + "".join(f" {story}." for story in stories[month]))
        self.stdout.write(f"Demo history ready in {time.perf_counter() - started:.1f} s.")

    def _receive(self, receipt: DemoReceipt, snapshot: ReferenceSnapshot, rows: int | None) -> None:
        buffer = io.BytesIO()
        generate_file(buffer, rows=rows or receipt.rows, org=receipt.organisation,
                      month=receipt.month, dataset_version=dataset_version_for(receipt.month),
                      reference=snapshot, error_rate=receipt.error_rate, seed=receipt.seed)
        content = buffer.getvalue()
        if receipt.rejected:  # the provider's extract renamed a column
            header, _, body = content.partition(b"\n")
            content = header.replace(b"nhs_number,", b"nhs_num,", 1) + b"\n" + body
        submission, _created = submission_create(
            actor=None, organisation_code=receipt.organisation, activity_month=receipt.month,
            upload=io.BytesIO(content), channel=Channel.DEMO, received_at=receipt.received_at,
            original_name=f"demo-{receipt.organisation}-{receipt.month:%Y-%m}.csv",
            enqueue=lambda pk: None)
        submission_process(submission_id=submission.pk)

    def _cut_off(self, month: date, now: datetime) -> None:
        for kind in CutOffKind.values:
            if getattr(period_deadlines([month])[month], kind) >= now:
                continue
            try:
                period_cut_off(actor=None, month=month, kind=kind, now=now,
                               run_by_label="seed_demo (demo data)")
            except DomainError as exc:  # e.g. someone's own upload is still being processed
                self.stdout.write(self.style.WARNING(f"Cut-off {month:%Y-%m} {kind} not run: "
                                                     f"{exc.message}"))

    def _describe(self, month: date) -> str:
        versions = Submission.objects.filter(activity_month=month)
        live = versions.filter(is_live=True).count()
        parts = [f"{versions.count()} version(s), {live} live"]
        for cutoff in CutOff.objects.filter(period__activity_month=month).order_by("kind"):
            parts.append(f"{cutoff.kind} cut-off {cutoff.record_count:,} records")
        return ", ".join(parts) + "."
