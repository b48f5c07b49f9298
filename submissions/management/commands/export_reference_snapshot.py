"""Write the reference snapshot file the offline ``dids-check`` reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from submissions.cli import UsageCommand, output_path
from submissions.selectors import reference_snapshot_file


class Command(UsageCommand):
    help = ("Export the reference data the engine checks against (code lists, organisations, "
            "sites) with its release and rule-set version, as one JSON file for dids-check "
            "--reference. A name ending in .gz is gzip-compressed; - writes to standard output.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--output", "-o", default="-",
                            help="The file to write (default: standard output).")

    def handle(self, *args: Any, **options: Any) -> None:
        target = options["output"]
        if target != "-":
            output_path(target)
        data, _name = reference_snapshot_file(compress=target.endswith(".gz"))
        if target == "-":
            self.stdout.write(data.decode("utf-8"))
            return
        Path(target).write_bytes(data)
        self.stderr.write(f"Wrote the reference snapshot to {target} ({len(data):,} bytes).")
