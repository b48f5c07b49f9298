"""Check a DIDS file with the portal's engine and reference data, writing nothing."""

from __future__ import annotations

from typing import Any

from dids_portal.lib.errors import DomainError
from submissions.checking import file_check
from submissions.cli import (
    UsageCommand,
    exit_code_for,
    one_file,
    parse_as_of,
    parse_month,
    report_output,
    usage_error,
)
from submissions.engine.report_json import add_check_arguments


class Command(UsageCommand):
    help = ("Check a DIDS file (CSV, or a zip holding one CSV) without submitting it. Exit code 0: "
            "it would be accepted; 1: it would be rejected; 2: it cannot be read at all; 64: the "
            "command was misused.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file")
        add_check_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        path = one_file(options["file"])
        month, as_of = parse_month(options["month"]), parse_as_of(options["as_of"])
        if not path.is_file():
            self.stderr.write(f"Cannot read {path}: no such file.")
            raise SystemExit(2)
        try:
            report = file_check(source=path, organisation_code=options["org"],
                                activity_month=month, as_of=as_of,
                                dataset_version=options["dataset_version"],
                                max_findings=options["max_findings"])
        except DomainError as exc:  # an unknown organisation or dataset version
            raise usage_error(exc.message) from exc
        except OSError as exc:
            self.stderr.write(f"Cannot read {path}: {exc.strerror}.")
            raise SystemExit(2) from exc
        self.stdout.write(report_output(report, options["format"]))
        code = exit_code_for(report)
        if code:
            raise SystemExit(code)
