"""Check a DIDS file with the portal's engine and reference data, writing nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dids_portal.lib.errors import DomainError
from submissions.checking import file_check
from submissions.cli import exit_code_for, parse_as_of, parse_month, report_output


class Command(BaseCommand):
    help = ("Check a DIDS file (CSV, or a zip holding one CSV) without submitting it. Exit code 0: "
            "it would be accepted; 1: it would be rejected; 2: it cannot be read at all.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file")
        parser.add_argument("--org", required=True, help="The submitting organisation's ODS code.")
        parser.add_argument("--month", required=True, help="The activity month, YYYY-MM.")
        parser.add_argument("--as-of", help="The submission time the time-relative rules use "
                                            "(ISO timestamp; default now).")
        parser.add_argument("--dataset-version", choices=["1.0", "2.0"])
        parser.add_argument("--format", choices=["json", "text"], default="text")
        parser.add_argument("--max-findings", type=int, default=None,
                            help="List at most this many record findings (counts stay exact; "
                                 "a finding about the whole file is always listed).")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            self.stderr.write(f"Cannot read {path}: no such file.")
            raise SystemExit(2)
        try:
            report = file_check(source=path, organisation_code=options["org"],
                                activity_month=parse_month(options["month"]),
                                as_of=parse_as_of(options["as_of"]),
                                dataset_version=options["dataset_version"],
                                max_findings=options["max_findings"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        except OSError as exc:
            self.stderr.write(f"Cannot read {path}: {exc.strerror}.")
            raise SystemExit(2) from exc
        self.stdout.write(report_output(report, options["format"]))
        code = exit_code_for(report)
        if code:
            raise SystemExit(code)
