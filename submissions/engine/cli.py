"""``dids-check``: check DIDS files offline, against a reference snapshot the portal exported.

No Django, no database, no network: the same engine, JSON and exit codes as
``manage.py dids_check``. FILE is a path, a directory (each .csv and .zip in it, in name order;
with --format json one JSON object per line, ``{"file", "exit_code", "report"}``) or ``-`` for
standard input. Warnings about the snapshot's age and rule-set version go to standard error so
that standard output stays identical to the portal's.

``dids-check convert FILE --output OUT`` rewrites a v1.0 file in the v2.0 layout, as
``manage.py dids_convert`` does (see convert_cli).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, NoReturn

from .report_json import (
    EXIT_UNREADABLE,
    EXIT_USAGE,
    CheckArgumentError,
    add_check_arguments,
    check_against,
    exit_code_for,
    parse_as_of,
    parse_month,
    report_output,
)

if TYPE_CHECKING:
    from .report import Report

# A snapshot older than this may miss a month's reference changes (codes, organisations).
MAX_SNAPSHOT_AGE = timedelta(days=35)
FILE_SUFFIXES = (".csv", ".zip")


class _Parser(argparse.ArgumentParser):
    """Misuse exits 64 (EX_USAGE), never 2, which says a file cannot be read."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dids-check",
        description="Check DIDS files offline, as the portal would. Exit code 0: accepted; "
                    "1: rejected; 2: cannot be read at all; 64: the command was misused. "
                    "'dids-check convert --help': rewrite a v1.0 file in the v2.0 layout.")
    parser.add_argument("file", help="A CSV or zip file, a directory of them, or - for stdin.")
    parser.add_argument("--reference", required=True, metavar="FILE",
                        help="The reference snapshot exported by the portal "
                             "(GET /api/reference-snapshot/ or manage.py export_reference_snapshot).")
    add_check_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["convert"]:
        code = convert_main(args[1:])
        sys.stdout.flush()
        return code
    options = build_parser().parse_args(args)
    code = run(options, stdout=sys.stdout, stderr=sys.stderr)
    sys.stdout.flush()
    return code


def run(options: argparse.Namespace, *, stdout: IO[str], stderr: IO[str]) -> int:
    from .snapshot_file import SnapshotFileError, snapshot_read

    try:
        month = parse_month(options.month)
        as_of = parse_as_of(options.as_of)
    except CheckArgumentError as exc:
        stderr.write(f"dids-check: {exc}\n")
        return EXIT_USAGE
    try:
        loaded = snapshot_read(options.reference)
    except (OSError, SnapshotFileError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        stderr.write(f"dids-check: cannot read the reference snapshot {options.reference}: "
                     f"{reason}.\n")
        return EXIT_UNREADABLE
    for warning in snapshot_warnings(loaded.ruleset_version, loaded.exported_at):
        stderr.write(f"dids-check: warning: {warning}\n")

    def check(source: Path | IO[bytes]) -> tuple[int, str]:
        report = check_against(source, reference=loaded.snapshot, organisation_code=options.org,
                               activity_month=month, as_of=as_of,
                               dataset_version=options.dataset_version,
                               max_findings=options.max_findings)
        return exit_code_for(report), report_output(report, options.format)

    try:
        if options.file == "-":
            code, text = check(io.BytesIO(sys.stdin.buffer.read()))
            stdout.write(text + "\n")
            return code
        path = Path(options.file)
        if path.is_dir():
            return _check_directory(path, check, options.format, stdout=stdout, stderr=stderr)
        if not path.is_file():
            stderr.write(f"Cannot read {path}: no such file.\n")
            return EXIT_UNREADABLE
        code, text = check(path)
    except CheckArgumentError as exc:
        stderr.write(f"dids-check: {exc}\n")
        return EXIT_USAGE
    except OSError as exc:
        stderr.write(f"Cannot read {options.file}: {exc.strerror}.\n")
        return EXIT_UNREADABLE
    stdout.write(text + "\n")
    return code


def convert_main(argv: Sequence[str]) -> int:
    """``dids-check convert``: the portal's ``dids_convert``, checking against a snapshot."""
    from .convert_cli import build_convert_parser, convert_request, run_convert
    from .snapshot_file import SnapshotFileError, snapshot_read

    options = vars(build_convert_parser(_Parser).parse_args(argv))
    try:
        request = convert_request(options)
        if request.check and not options["reference"]:
            raise CheckArgumentError("--check needs --reference (the snapshot exported by the "
                                     "portal).")
        if options["reference"] and not request.check:
            raise CheckArgumentError("--reference only with --check.")
    except CheckArgumentError as exc:
        sys.stderr.write(f"dids-check convert: {exc}\n")
        return EXIT_USAGE
    if not request.check:
        return run_convert(request, checker=None, stdout=sys.stdout, stderr=sys.stderr)
    try:
        loaded = snapshot_read(options["reference"])
    except (OSError, SnapshotFileError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        sys.stderr.write(f"dids-check convert: cannot read the reference snapshot "
                         f"{options['reference']}: {reason}.\n")
        return EXIT_UNREADABLE
    if (request.org or "").strip().upper() not in loaded.snapshot.organisations:
        sys.stderr.write(f"dids-check convert: Unknown organisation {request.org!r}.\n")
        return EXIT_USAGE
    for warning in snapshot_warnings(loaded.ruleset_version, loaded.exported_at):
        sys.stderr.write(f"dids-check: warning: {warning}\n")

    def checker(path: Path, org: str, month: date, as_of: datetime | None,
                max_findings: int | None) -> Report:
        return check_against(path, reference=loaded.snapshot, organisation_code=org,
                             activity_month=month, as_of=as_of, dataset_version="2.0",
                             max_findings=max_findings)

    return run_convert(request, checker=checker, stdout=sys.stdout, stderr=sys.stderr)


def _check_directory(directory: Path, check: Callable[[Path], tuple[int, str]], output_format: str,
                     *, stdout: IO[str], stderr: IO[str]) -> int:
    """Check each file; the exit code is the worst of theirs (0 < 1 < 2)."""
    files = sorted(p for p in directory.iterdir()
                   if p.is_file() and p.suffix.lower() in FILE_SUFFIXES)
    if not files:
        stderr.write(f"dids-check: no .csv or .zip files in {directory}.\n")
        return EXIT_UNREADABLE
    worst = 0
    for path in files:
        try:
            code, text = check(path)
        except OSError as exc:
            stderr.write(f"Cannot read {path}: {exc.strerror}.\n")
            code, text = EXIT_UNREADABLE, ""
        worst = max(worst, code)
        if output_format == "json":
            report = json.loads(text) if text else None
            stdout.write(json.dumps({"file": path.name, "exit_code": code, "report": report},
                                    default=str) + "\n")
        else:
            stdout.write(f"== {path.name} (exit {code})\n{text}\n")
    return worst


def snapshot_warnings(snapshot_ruleset: str, exported_at: datetime,
                      now: datetime | None = None) -> list[str]:
    """What the checker should say about a snapshot older than its rules, or rules older than it."""
    from .rules import RULESET_VERSION

    warnings = []
    if snapshot_ruleset != RULESET_VERSION:
        if _newer(snapshot_ruleset, RULESET_VERSION):
            warnings.append(
                f"this checker's rule set {RULESET_VERSION} is older than the portal's rule set "
                f"{snapshot_ruleset} named by the snapshot; its findings may differ from the "
                f"portal's: upgrade dids-check.")
        else:
            warnings.append(
                f"the snapshot was exported with rule set {snapshot_ruleset}, older than this "
                f"checker's {RULESET_VERSION}; export a fresh snapshot from the portal.")
    age = (now or datetime.now(UTC)) - exported_at
    if age > MAX_SNAPSHOT_AGE:
        warnings.append(
            f"the snapshot was exported {age.days} days ago ({exported_at:%Y-%m-%d}); reference "
            f"data may have changed since: export a fresh one from the portal.")
    return warnings


def _newer(version: str, than: str) -> bool:
    """Whether a dotted version (2026.11.2) is later than another; text compares as text."""
    try:
        return tuple(int(p) for p in version.split(".")) > tuple(int(p) for p in than.split("."))
    except ValueError:
        return version > than


if __name__ == "__main__":
    sys.exit(main())
