"""Argument parsing and output shared by the dids_* management commands.

The pure part (parsing, the JSON and text printed, the exit codes) lives in the engine, where the
offline ``dids-check`` uses it too; this module turns its argument errors into CommandError.
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandError, CommandParser

from submissions.engine import report_json as shared
from submissions.engine.report_json import (
    EXIT_USAGE,
    LONDON,
    UNREADABLE_KINDS,
    exit_code_for,
    report_json,
    report_output,
    report_text,
)

__all__ = ["EXIT_USAGE", "LONDON", "UNREADABLE_KINDS", "UsageCommand", "exit_code_for",
           "one_file", "output_path", "parse_as_of", "parse_month", "report_json",
           "report_output", "report_text", "usage_error"]

# DomainError codes that mean the command's arguments are wrong, not the file.
USAGE_CODES = frozenset({"unknown_organisation", "invalid_month", "invalid_dataset_version"})


def usage_error(message: str) -> CommandError:
    """Misuse of a command: its message, and exit code 64 (EX_USAGE)."""
    return CommandError(message, returncode=EXIT_USAGE)


class UsageCommand(BaseCommand):
    """A dids_* command whose misuse (a bad flag or value) exits 64 with argparse's message,
    never 2, which these commands keep for a file that cannot be read.

    They skip Django's system checks: those load the URLconf, and with it every view, the API
    and the admin, three times the start-up of a small check; ``manage.py check`` (and CI, and
    every page served) still runs them."""

    requires_system_checks: list[str] = []

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)

        def error(message: str) -> NoReturn:
            if parser.called_from_command_line:
                parser.print_usage(sys.stderr)
                parser.exit(EXIT_USAGE, f"{parser.prog}: error: {message}\n")
            raise usage_error(f"Error: {message}")

        parser.error = error  # type: ignore[method-assign]
        return parser


def one_file(value: str) -> Path:
    """The FILE argument of a command that takes exactly one file."""
    path = Path(value)
    if path.is_dir():
        raise usage_error(f"{path} is a directory: give one file (the offline dids-check "
                          "checks every file of a directory).")
    return path


def output_path(value: str) -> Path:
    """An --output file whose folder must exist (the command does not make folders)."""
    path = Path(value)
    if not path.parent.is_dir():
        raise usage_error(f"--output {value}: the folder {path.parent} does not exist.")
    return path


def parse_as_of(value: str | None) -> datetime | None:
    """An ISO date or date-time; without an offset it is Europe/London clock time."""
    try:
        return shared.parse_as_of(value)
    except shared.CheckArgumentError as exc:
        raise usage_error(str(exc)) from exc


def parse_month(value: str) -> date:
    try:
        return shared.parse_month(value)
    except shared.CheckArgumentError as exc:
        raise usage_error(str(exc)) from exc
