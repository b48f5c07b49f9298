"""Write a realistic DIDS file for an organisation and month, optionally with planted errors."""

from __future__ import annotations

import sys
from typing import Any

from reference.models import Organisation
from submissions.cli import UsageCommand, output_path, parse_month, usage_error
from submissions.engine import generate_file
from submissions.selectors import reference_snapshot_load


class Command(UsageCommand):
    help = ("Generate a realistic DIDS v1.0 or v2.0 file from the loaded reference data. With "
            "--error-rate 0 the file raises no finding; above 0 it plants errors across the rules.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--rows", type=int, required=True)
        parser.add_argument("--org", required=True)
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--dataset-version", choices=["1.0", "2.0"], required=True)
        parser.add_argument("--error-rate", type=float, default=0.0)
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--output", help="The file to write (default: standard output).")
        parser.add_argument("--print-errors", action="store_true",
                            help="List the planted errors (line and rule) on standard error.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["rows"] < 0:
            raise usage_error("--rows must not be negative.")
        if not 0.0 <= options["error_rate"] <= 1.0:
            raise usage_error("--error-rate must be between 0 and 1.")
        if options["output"]:
            output_path(options["output"])
        month = parse_month(options["month"])
        code = options["org"].strip().upper()
        if not Organisation.objects.filter(code=code, sites__isnull=False).exists():
            raise usage_error(f"{code} is not an organisation with imaging sites.")
        snapshot, _release = reference_snapshot_load()
        target = options["output"] or sys.stdout.buffer
        planted = generate_file(target, rows=options["rows"], org=code,
                                month=month,
                                dataset_version=options["dataset_version"], reference=snapshot,
                                error_rate=options["error_rate"], seed=options["seed"])
        if options["output"]:
            self.stderr.write(f"Wrote {options['rows']:,} records to {options['output']}"
                              f" with {len(planted):,} planted errors.")
        if options["print_errors"]:
            for error in planted:
                self.stderr.write(f"line {error.line}: {error.rule}")
