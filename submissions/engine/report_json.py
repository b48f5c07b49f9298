"""What a check prints and the exit code it ends with: one definition for ``manage.py dids_check``
and the offline ``dids-check``, so that the two cannot drift apart.

Exit codes: 0 the file would be accepted, 1 it would be rejected, 2 it cannot be read at all,
64 the command was misused (a bad or unknown argument: month, time, organisation, a directory
where one file is wanted, a negative count, an output folder that does not exist), as
``sysexits.h`` names it (EX_USAGE).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, time
from typing import IO, TYPE_CHECKING, Any

from . import context
from .context import LONDON
from .rules import load_rules

if TYPE_CHECKING:  # the engine (polars, pyarrow) is imported only when a file is checked
    from .reference import ReferenceSnapshot
    from .report import Report

DATASET_VERSIONS = ("1.0", "2.0")
# The file-level problems that mean the file could not be read at all (exit code 2), by
# rule kind (the rules data gives their ids).
UNREADABLE_KINDS = frozenset({"file_encoding", "file_csv", "file_zip"})
EXIT_ACCEPTED, EXIT_REJECTED, EXIT_UNREADABLE, EXIT_USAGE = 0, 1, 2, 64


class CheckArgumentError(ValueError):
    """A bad argument (month, time, organisation): the command says so and exits 64."""


def non_negative_int(value: str) -> int:
    """An argparse type: a whole number of 0 or more."""
    import argparse

    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {number}")
    return number


def add_check_arguments(parser: Any) -> None:
    """The flags ``manage.py dids_check`` and the offline ``dids-check`` share, defined once so
    the two commands cannot drift apart (an argparse parser)."""
    parser.add_argument("--org", required=True, help="The submitting organisation's ODS code.")
    parser.add_argument("--month", required=True, help="The activity month, YYYY-MM.")
    parser.add_argument("--as-of", help="The submission time the time-relative rules use "
                                        "(ISO timestamp; default now).")
    parser.add_argument("--dataset-version", choices=["1.0", "2.0"])
    parser.add_argument("--format", choices=["json", "text"], default="text")
    parser.add_argument("--max-findings", type=non_negative_int, default=None,
                        help="List at most this many record findings (counts stay exact; "
                             "a finding about the whole file is always listed).")


def parse_as_of(value: str | None) -> datetime | None:
    """An ISO date or date-time; without an offset it is Europe/London clock time."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(value.strip()), time(12, 0))
        except ValueError as exc:
            raise CheckArgumentError(
                f"--as-of must be an ISO date or timestamp, got {value!r}.") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=LONDON)
    return parsed


def parse_month(value: str) -> date:
    try:
        return context.parse_month(value)
    except ValueError as exc:
        raise CheckArgumentError(f"--month must be YYYY-MM, got {value!r}.") from exc


def check_against(source: str | os.PathLike[str] | IO[bytes], *, reference: ReferenceSnapshot,
                  organisation_code: str, activity_month: date | None, as_of: datetime | None,
                  dataset_version: str | None, max_findings: int | None,
                  final_deadline: datetime | None = None, reopened: bool = False) -> Report:
    """Validate a file as if ``organisation_code`` submitted it at ``as_of`` (default now).

    ``final_deadline`` (the activity month's) lets a finding say why records are too late;
    ``reopened`` says the month is reopened for the organisation, so they are not.

    Raises CheckArgumentError for an organisation the snapshot does not know.
    """
    from .context import CheckContext
    from .validate import validate

    code = organisation_code.strip().upper()
    if code not in reference.organisations:
        raise CheckArgumentError(f"Unknown organisation {organisation_code!r}.")
    if dataset_version not in (None, "", *DATASET_VERSIONS):
        raise CheckArgumentError(
            f"The dataset version must be 1.0 or 2.0, got {dataset_version!r}.")
    context = CheckContext(
        submitting_org=code,
        month=activity_month.replace(day=1) if activity_month else None,
        as_of=as_of or datetime.now(UTC),
        dataset_version=dataset_version or None,
        final_deadline=final_deadline,
        reopened=reopened,
    )
    # A check hands nothing over, so pyarrow may parse on several cores while the checks run
    # (validate's use_threads): without it the command read and checked on one thread.
    return validate(source, context=context, reference=reference, max_findings=max_findings,
                    use_threads=True)


def exit_code_for(report: Report | Any) -> int:
    unreadable = {r.id for r in load_rules().rules if r.kind in UNREADABLE_KINDS}
    if report.file_rejected and unreadable & set(report.counts_by_rule):
        return EXIT_UNREADABLE
    return EXIT_REJECTED if report.file_rejected else EXIT_ACCEPTED


def report_json(report: Report | Any) -> str:
    """The JSON ``--format json`` prints."""
    return json.dumps(report.to_dict(), indent=2, default=str)


def report_text(report: Report | Any) -> str:
    from .layout import display_name

    verdict = "REJECTED" if report.file_rejected else "ACCEPTED"
    lines = [
        f"{verdict}: DIDS v{report.dataset_version or '?'}, {report.rows} records, "
        f"{report.accepted_rows} accepted, {report.rejected_rows} rejected",
        f"Reference release: {report.reference_release}; rule set {report.ruleset_version}",
    ]
    if report.counts_by_rule:
        lines.append("Findings by rule:")
        lines += [f"  {rule:<12} {count:>9,}" for rule, count in sorted(report.counts_by_rule.items())]
    for finding in report.findings:
        where = f"line {finding.line}" if finding.line else "file"
        item = f", {display_name(finding.item)}" if finding.item else ""
        lines.append(f"{where}{item}: {finding.rule} ({finding.severity}) {finding.message}")
    if getattr(report, "findings_truncated", False):
        lines.append("(more findings not shown)")
    return "\n".join(lines)


def report_output(report: Report | Any, output_format: str) -> str:
    return report_json(report) if output_format == "json" else report_text(report)
