"""Rewrite a DIDS v1.0 file in the v2.0 layout; with --check, check it with the portal's data."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from dids_portal.lib.errors import DomainError
from reference.models import Organisation
from submissions.checking import file_check
from submissions.cli import UsageCommand, usage_error
from submissions.engine import Report
from submissions.engine.convert_cli import add_convert_arguments, convert_request, run_convert
from submissions.engine.report_json import CheckArgumentError


class Command(UsageCommand):
    help = (
        "Rewrite a DIDS v1.0 file in the v2.0 layout and say how each v2.0 item was mapped; "
        "with --check --org CODE --month YYYY-MM, then check the converted file. Exit code 0: "
        "converted (and accepted); 1: converted, but the check rejects it; 2: FILE cannot be "
        "read or is not DIDS v1.0; 64: the command was misused."
    )

    def add_arguments(self, parser: Any) -> None:
        add_convert_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            request = convert_request(options)
        except CheckArgumentError as exc:
            raise usage_error(str(exc)) from exc
        if (
            request.check
            and not Organisation.objects.filter(code=(request.org or "").strip().upper()).exists()
        ):
            raise usage_error(f"Unknown organisation {request.org!r}.")

        def checker(
            path: Path, org: str, month: date, as_of: datetime | None, max_findings: int | None
        ) -> Report:
            try:
                return file_check(
                    source=path,
                    organisation_code=org,
                    activity_month=month,
                    as_of=as_of,
                    dataset_version="2.0",
                    max_findings=max_findings,
                )
            except DomainError as exc:
                raise usage_error(exc.message) from exc

        code = run_convert(
            request,
            checker=checker if request.check else None,
            stdout=self.stdout,
            stderr=self.stderr,
        )
        self.stdout.flush()
        if code:
            raise SystemExit(code)
