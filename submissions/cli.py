"""Argument parsing and output shared by the dids_* management commands.

The pure part (parsing, the JSON and text printed, the exit codes) lives in the engine, where the
offline ``dids-check`` uses it too; this module turns its argument errors into CommandError.
"""

from __future__ import annotations

from datetime import date, datetime

from django.core.management.base import CommandError

from submissions.engine import report_json as shared
from submissions.engine.report_json import (
    LONDON,
    UNREADABLE_RULES,
    exit_code_for,
    report_json,
    report_output,
    report_text,
)

__all__ = ["LONDON", "UNREADABLE_RULES", "exit_code_for", "parse_as_of", "parse_month",
           "report_json", "report_output", "report_text"]


def parse_as_of(value: str | None) -> datetime | None:
    """An ISO date or date-time; without an offset it is Europe/London clock time."""
    try:
        return shared.parse_as_of(value)
    except shared.CheckArgumentError as exc:
        raise CommandError(str(exc)) from exc


def parse_month(value: str) -> date:
    try:
        return shared.parse_month(value)
    except shared.CheckArgumentError as exc:
        raise CommandError(str(exc)) from exc
