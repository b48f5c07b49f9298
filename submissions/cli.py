"""Argument parsing and output shared by the dids_* management commands."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.base import CommandError

LONDON = ZoneInfo("Europe/London")
# File-level findings that mean the file could not be read at all (exit code 2).
UNREADABLE_RULES = frozenset({"P001", "P003", "P004"})


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
            raise CommandError(f"--as-of must be an ISO date or timestamp, got {value!r}.") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=LONDON)
    return parsed


def parse_month(value: str) -> date:
    try:
        year, month = (int(p) for p in value.strip().split("-"))
        return date(year, month, 1)
    except ValueError as exc:
        raise CommandError(f"--month must be YYYY-MM, got {value!r}.") from exc


def exit_code_for(report: Any) -> int:
    if report.file_rejected and UNREADABLE_RULES & set(report.counts_by_rule):
        return 2
    return 1 if report.file_rejected else 0


def report_text(report: Any) -> str:
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
        item = f", {finding.item}" if finding.item else ""
        lines.append(f"{where}{item}: {finding.rule} ({finding.severity}) {finding.message}")
    if getattr(report, "findings_truncated", False):
        lines.append("(more findings not shown)")
    return "\n".join(lines)
