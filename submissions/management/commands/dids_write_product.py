"""python manage.py dids_write_product [--month YYYY-MM] [--cutoff provisional|final]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from submissions.choices import CutOffKind
from submissions.cycle.product import product_write
from submissions.cycle.timetable import month_start
from submissions.models import CutOff


class Command(BaseCommand):
    help = ("Write (again) the Parquet product of frozen cut-offs under DIDS_PRODUCT_ROOT: "
            "every cut-off, or those of one month and kind (cut-offs taken before the "
            "product existed, or a new DIDS_PRODUCT_ROOT).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", help="YYYY-MM (default: every month)")
        parser.add_argument("--cutoff", choices=CutOffKind.values)

    def handle(self, *args: Any, **options: Any) -> None:
        cutoffs = CutOff.objects.select_related("period").defer("manifest").order_by(
            "period__activity_month", "kind")
        if options["month"]:
            cutoffs = cutoffs.filter(period__activity_month=month_start(options["month"]))
        if options["cutoff"]:
            cutoffs = cutoffs.filter(kind=options["cutoff"])
        written = 0
        for cutoff in cutoffs:
            path = product_write(cutoff=cutoff)
            if path is None:
                raise CommandError("DIDS_PSEUDONYM_KEY is not set: the product is written "
                                   "only pseudonymised.")
            self.stdout.write(f"{cutoff}: {path}")
            written += 1
        self.stdout.write(f"{written} product file(s) written.")
