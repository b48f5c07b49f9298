"""python manage.py run_cutoff --month YYYY-MM --kind provisional|final"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from dids_portal.lib.errors import DomainError
from submissions.choices import CutOffKind
from submissions.cycle.services import period_cut_off


class Command(BaseCommand):
    help = ("Freeze a month's data product at its provisional or final deadline (idempotent: "
            "a cut-off that has run is printed, not run again).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--kind", required=True, choices=CutOffKind.values)
        parser.add_argument("--user", help="e-mail of the national user running it")
        parser.add_argument("--ignore-pending", action="store_true",
                            help="run even if versions received before the deadline are "
                                 "still being processed (they are left out)")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = None
        if options["user"]:
            actor = User.objects.filter(email__iexact=options["user"]).first()
            if actor is None:
                raise CommandError(f"No user {options['user']!r}.")
        try:
            cutoff, created = period_cut_off(
                actor=actor, month=options["month"], kind=options["kind"],
                run_by_label=f"run_cutoff ({actor.email})" if actor else "run_cutoff command",
                ignore_pending=options["ignore_pending"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(json.dumps({
            "created": created, "id": cutoff.pk, "month": cutoff.manifest["month"],
            "kind": cutoff.kind, "deadline": cutoff.deadline.isoformat(),
            "taken_at": cutoff.taken_at.isoformat(), "versions": len(cutoff.manifest["versions"]),
            "records": cutoff.record_count, "records_checksum": cutoff.records_checksum,
        }, indent=2))
