"""python manage.py dids_archive_records [--dry-run] [--days N] [--limit N]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from submissions.archive_services import records_archive_superseded


class Command(BaseCommand):
    help = ("Move the records of superseded versions that no cut-off took (superseded "
            "DIDS_SUPERSEDED_RECORDS_DAYS ago) from the records table to Parquet files.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true",
                            help="list the versions that would be archived; change nothing")
        parser.add_argument("--days", type=int, default=None,
                            help="superseded at least this many days ago (default: the setting)")
        parser.add_argument("--limit", type=int, default=None, help="at most this many versions")

    def handle(self, *args: Any, **options: Any) -> None:
        done = records_archive_superseded(days=options["days"], dry_run=options["dry_run"],
                                          limit=options["limit"])
        verb = "would archive" if options["dry_run"] else "archived"
        for item in done:
            size = "" if options["dry_run"] else f", {item.bytes:,} bytes"
            self.stdout.write(f"version {item.submission_id}: {verb} {item.rows:,} records{size}")
        self.stdout.write(f"{len(done)} version(s) {verb}, "
                          f"{sum(i.rows for i in done):,} records.")
