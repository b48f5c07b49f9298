"""Submit a DIDS file through the same service as the portal, processing it in this process."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError

from accounts.models import User
from dids_portal.lib.errors import DomainError
from submissions.choices import ACCEPTED_STATUSES, Channel
from submissions.cli import (
    USAGE_CODES,
    UsageCommand,
    one_file,
    parse_as_of,
    parse_month,
    usage_error,
)
from submissions.models import Submission
from submissions.services import submission_create, submission_process


def submission_summary(submission: Submission) -> dict[str, Any]:
    return {
        "id": submission.pk,
        "organisation": submission.organisation_id,
        "activity_month": f"{submission.activity_month:%Y-%m}",
        "version": submission.version,
        "status": submission.status,
        "is_live": submission.is_live,
        "sha256": submission.sha256,
        "size_bytes": submission.size_bytes,
        "received_at": submission.received_at.isoformat(),
        "dataset_version": submission.dataset_version,
        "rows": submission.rows,
        "accepted_rows": submission.accepted_rows,
        "rejected_rows": submission.rejected_rows,
        "counts_by_rule": submission.counts_by_rule,
        "failure_reason": submission.failure_reason,
    }


class Command(UsageCommand):
    help = ("Submit a DIDS file for an organisation and month, validate and store it here, and "
            "print the result. Exit code 0 when accepted, 1 when rejected or failed (or refused, e.g. "
            "a locked month), 64 when the command was misused.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file")
        parser.add_argument("--org", required=True)
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--as-of", help="Submission time for the time-relative rules.")
        parser.add_argument("--user", help="Submit as this user (must be a submitter of --org); "
                                           "without it, as the command-line operator.")
        parser.add_argument("--format", choices=["json", "text"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        path = one_file(options["file"])
        month, as_of = parse_month(options["month"]), parse_as_of(options["as_of"])
        if not path.is_file():
            raise CommandError(f"Cannot read {path}: no such file.")
        actor = None
        if options["user"]:
            actor = User.objects.filter(email=options["user"].strip().lower()).first()
            if actor is None:
                raise CommandError(f"No user with email {options['user']}.")
        try:
            with path.open("rb") as handle:
                submission, _created = submission_create(
                    actor=actor, organisation_code=options["org"],
                    activity_month=month, upload=handle,
                    original_name=path.name, as_of=as_of,
                    channel=Channel.CLI, enqueue=lambda pk: None,
                )
        except DomainError as exc:
            if exc.code in USAGE_CODES:
                raise usage_error(exc.message) from exc
            raise CommandError(exc.message) from exc
        submission_process(submission_id=submission.pk)
        submission.refresh_from_db()
        summary = submission_summary(submission)
        if options["format"] == "json":
            self.stdout.write(json.dumps(summary, indent=2))
        else:
            self.stdout.write(
                f"Submission {summary['id']}: {summary['organisation']} {summary['activity_month']} "
                f"version {summary['version']} {summary['status']}"
                f"{' (live)' if summary['is_live'] else ''}; {summary['rows']} records, "
                f"{summary['accepted_rows']} accepted, {summary['rejected_rows']} rejected")
        if submission.status not in ACCEPTED_STATUSES:
            raise SystemExit(1)
