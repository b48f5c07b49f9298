"""python manage.py monthly_stats --month YYYY-MM --cutoff provisional|final --format json|csv"""

from __future__ import annotations

import csv
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dids_portal.lib.csvsafe import safe_rows
from dids_portal.lib.errors import DomainError
from submissions.choices import CutOffKind
from submissions.cycle.cutoff_selectors import (
    STATISTICS_KEYS,
    cutoff_get,
    cutoff_statistics,
    statistics_csv_rows,
)


class Command(BaseCommand):
    help = "Print the statistics of a frozen monthly product (SPEC section 8)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--cutoff", required=True, choices=CutOffKind.values)
        parser.add_argument("--format", default="json", choices=["json", "csv"])
        parser.add_argument("--published", action="store_true",
                            help="apply the disclosure control of published figures")
        parser.add_argument("--rebuild", action="store_true",
                            help="recompute from the versions in the manifest")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            cutoff = cutoff_get(month=options["month"], kind=options["cutoff"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        statistics = cutoff_statistics(cutoff=cutoff, published=options["published"],
                                       rebuild=options["rebuild"])
        if options["format"] == "json":
            # A product frozen before a key existed has none: it prints as null.
            self.stdout.write(json.dumps({k: statistics.get(k) for k in STATISTICS_KEYS},
                                         indent=2))
            return
        writer = csv.writer(self.stdout, lineterminator="\n")
        writer.writerows(safe_rows(statistics_csv_rows(statistics)))
