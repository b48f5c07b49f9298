"""python manage.py dids_compact_records [--dry-run] [--min-share F] [--month YYYY-MM]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from submissions.compaction import record_partitions_compact
from submissions.engine.context import parse_month


class Command(BaseCommand):
    help = ("Rewrite (VACUUM FULL) the records partitions of the months whose archived records "
            "left at least DIDS_COMPACT_FREE_SHARE of them free, giving the space back "
            "(PostgreSQL; what the nightly beat task does).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true",
                            help="list the months that would be rewritten; change nothing")
        parser.add_argument("--min-share", type=float, default=None,
                            help="the share of archived records that makes a month due "
                                 "(default: the setting; 0 rewrites every month with any)")
        parser.add_argument("--month", default=None, help="only this month (YYYY-MM)")

    def handle(self, *args: Any, **options: Any) -> None:
        share = options["min_share"]
        if share is not None and not 0.0 <= share <= 1.0:
            raise CommandError("--min-share must be between 0 and 1.")
        month = None
        if options["month"]:
            try:
                month = parse_month(options["month"])
            except ValueError as exc:
                raise CommandError(f"--month: {exc}.") from exc
        done = record_partitions_compact(min_share=share, month=month,
                                         dry_run=options["dry_run"])
        for item, log in done:
            head = (f"{item.month:%Y-%m}: {item.archived:,} of {item.held:,} records archived "
                    f"since the last rewrite ({item.share:.0%})")
            if log is None:
                self.stdout.write(f"{head}: would rewrite")
            elif log.outcome == "compacted":
                self.stdout.write(f"{head}: rewritten, {log.bytes_before:,} bytes to "
                                  f"{log.bytes_after:,}")
            else:
                self.stdout.write(f"{head}: not rewritten, its lock was not granted in time")
        verb = "would be rewritten" if options["dry_run"] else "rewritten"
        rewritten = sum(1 for _, log in done if log is None or log.outcome == "compacted")
        self.stdout.write(f"{rewritten} month(s) {verb}.")
