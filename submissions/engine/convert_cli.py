"""``dids-check convert`` and ``manage.py dids_convert``: one definition of their flags, their
output and their exit codes, so that the two cannot drift apart.

Exit codes: 0 converted (and, with --check, the converted file would be accepted); 1 converted,
but with --check the converted file would be rejected; 2 FILE cannot be read, or is not a
DIDS v1.0 file, and nothing is written; 64 the command was misused.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .report_json import (
    EXIT_UNREADABLE,
    CheckArgumentError,
    exit_code_for,
    non_negative_int,
    parse_as_of,
    parse_month,
    report_text,
)

if TYPE_CHECKING:
    from .report import Report

DEFAULT_MAX_FINDINGS = 20
# Checks the converted file as DIDS v2.0 for (path, organisation, month, as_of, max_findings).
Checker = Callable[[Path, str, date, "datetime | None", "int | None"], "Report"]


class Writer(Protocol):
    """Standard output or error: a text stream, or a management command's OutputWrapper."""

    def write(self, text: str, /) -> Any: ...


def add_convert_arguments(parser: Any) -> None:
    """The flags both convert commands share (an argparse parser)."""
    parser.add_argument("file", help="A DIDS v1.0 CSV file, or a zip holding one.")
    parser.add_argument(
        "--output",
        required=True,
        metavar="OUT",
        help="Where to write the v2.0 file (its folder must exist).",
    )
    parser.add_argument(
        "--report",
        metavar="FILE",
        help="Also write the report, and the check's with --check, as JSON here.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="Then check the converted file as DIDS v2.0 (needs --org and --month).",
    )
    parser.add_argument("--org", help="With --check: the submitting organisation's ODS code.")
    parser.add_argument("--month", help="With --check: the activity month, YYYY-MM.")
    parser.add_argument(
        "--as-of",
        help="With --check: the submission time the time-relative "
        "rules use (ISO timestamp; default now).",
    )
    parser.add_argument(
        "--max-findings",
        type=non_negative_int,
        default=DEFAULT_MAX_FINDINGS,
        help=f"With --check: list at most this many record findings "
        f"(default {DEFAULT_MAX_FINDINGS}; counts stay exact).",
    )


@dataclass(frozen=True)
class ConvertRequest:
    source: Path
    output: Path
    report: Path | None
    check: bool
    org: str | None
    month: date | None
    as_of: datetime | None
    max_findings: int | None


def convert_request(options: dict[str, Any]) -> ConvertRequest:
    """The parsed options, or CheckArgumentError for a misuse (nothing is read or written)."""
    source, output = Path(options["file"]), Path(options["output"])
    report = Path(options["report"]) if options.get("report") else None
    if source.is_dir():
        raise CheckArgumentError(f"{source} is a directory: give one DIDS v1.0 file.")
    for flag, path in (("--output", output), ("--report", report)):
        if path is not None and not path.parent.is_dir():
            raise CheckArgumentError(f"{flag} {path}: the folder {path.parent} does not exist.")
        if path is not None and path.is_dir():
            raise CheckArgumentError(f"{flag} {path} is a directory: give a file name.")
    if source.exists() and output.exists() and source.resolve() == output.resolve():
        raise CheckArgumentError("--output is the file being converted: give another name.")
    if report is not None and report.resolve() in (source.resolve(), output.resolve()):
        raise CheckArgumentError("--report must be another file than FILE and --output.")
    if options["check"]:
        missing = [f"--{name}" for name in ("org", "month") if not options.get(name)]
        if missing:
            raise CheckArgumentError(f"--check needs {' and '.join(missing)}.")
    else:
        extra = [
            f"--{name.replace('_', '-')}" for name in ("org", "month", "as_of") if options.get(name)
        ]
        if extra:
            raise CheckArgumentError(f"{', '.join(extra)} only with --check.")
    return ConvertRequest(
        source=source,
        output=output,
        report=report,
        check=bool(options["check"]),
        org=options.get("org"),
        month=parse_month(options["month"]) if options["check"] else None,
        as_of=parse_as_of(options.get("as_of")),
        max_findings=options.get("max_findings"),
    )


def run_convert(
    request: ConvertRequest, *, checker: Checker | None, stdout: Writer, stderr: Writer
) -> int:
    """Convert, print the report (and the check's), write --report; return the exit code."""
    from .convert import NotVersionOne, convert
    from .rules import load_rules
    from .source import FileRejected

    name = str(request.source)
    if not request.source.is_file():
        stderr.write(f"Cannot read {name}: no such file.\n")
        return EXIT_UNREADABLE
    try:
        conversion = convert(request.source, request.output, source_name=name)
    except FileRejected as exc:
        problem = exc.problem
        stderr.write(
            f"Cannot convert {name}: {load_rules().by_kind(problem.kind).id} {problem.detail}. "
            "Nothing was written.\n"
        )
        return EXIT_UNREADABLE
    except NotVersionOne as exc:
        stderr.write(f"Cannot convert {name}: {exc}; nothing to convert. Nothing was written.\n")
        return EXIT_UNREADABLE
    except OSError as exc:
        stderr.write(f"Cannot convert {name}: {exc.strerror or exc}.\n")
        return EXIT_UNREADABLE
    stdout.write(conversion.text() + "\n")
    document: dict[str, Any] = {**conversion.to_dict(), "check": None}
    code = 0
    if request.check:
        assert checker is not None and request.org and request.month
        checked = checker(
            request.output, request.org, request.month, request.as_of, request.max_findings
        )
        stdout.write(
            f"\nThe converted file checked as DIDS v2.0 for {request.org.upper()}, "
            f"{request.month:%Y-%m}:\n{report_text(checked)}\n"
        )
        document["check"] = checked.to_dict()
        code = exit_code_for(checked)
    if request.report is not None:
        request.report.write_text(
            json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8"
        )
    return code


def build_convert_parser(parser_class: type[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """The offline ``dids-check convert`` parser (the portal's adds the same flags)."""
    parser = parser_class(
        prog="dids-check convert",
        description="Rewrite a DIDS v1.0 file in the v2.0 layout and say how each item was "
        "mapped; with --check, then check the converted file offline. Exit code 0: "
        "converted (and accepted); 1: converted, but the check rejects it; 2: FILE "
        "cannot be read or is not DIDS v1.0; 64: the command was misused.",
    )
    add_convert_arguments(parser)
    parser.add_argument(
        "--reference",
        metavar="FILE",
        help="With --check: the reference snapshot exported by the portal.",
    )
    return parser
