"""The slow, exact path: re-read a file the fast path rejected and say which line is at fault."""

from __future__ import annotations

import codecs
import csv
import io

from .reader import Plan
from .source import FileProblem, Source


def diagnose(source: Source, plan: Plan | None, max_field: int) -> FileProblem:
    """Re-read a file the fast path could not, and say what is wrong and on which line
    (``max_field``: P003's longest field, a parameter of the rule)."""
    with source.open() as fh:
        line = 1
        decoder = codecs.getincrementaldecoder("utf-8-sig")()
        while True:
            block = fh.read(1 << 20)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                at = line + block[: max(exc.start, 0)].count(b"\n")
                return FileProblem("file_encoding", f"invalid byte at line {at}", at)
            if b"\x00" in block:
                at = line + block[: block.index(b"\x00")].count(b"\n")
                return FileProblem("file_csv", f"NUL byte at line {at}", at)
            if not block:
                break
            line += block.count(b"\n")
    csv.field_size_limit(1 << 30)
    start = 1
    with source.open() as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
        reader = csv.reader(text, strict=True)
        try:
            for n, row in enumerate(reader):
                if plan is not None and n < plan.skip_rows:
                    start = reader.line_num + 1
                    continue
                if any(len(cell) > max_field for cell in row):
                    return FileProblem("file_csv", f"a field over {max_field:,} characters at line {start}", start)
                if plan is not None and any(c.strip() for c in row) and len(row) != plan.ncols:
                    return _column_count(plan, row, start)
                if plan is not None and any(c.strip() for c in row[plan.width:]):
                    return _trailing_value(plan, row, start)
                start = reader.line_num + 1
        except csv.Error as exc:
            if "end of data" in str(exc):
                return FileProblem("file_csv", f"unterminated quoted field starting at line {start}", start)
            return FileProblem("file_csv", f"CSV error at line {start}: {exc}", start)
    return FileProblem("file_csv", "the file could not be parsed as CSV")


def _column_count(plan: Plan, row: list[str], line: int) -> FileProblem:
    expected = plan.ncols
    detail = f"line {line} has {len(row)} columns, expected {expected}"
    if expected > plan.width:
        first, kind = ("the header row", "named") if plan.header else ("the first record", "with values")
        detail += f" like {first} ({plan.width} {kind} and {expected - plan.width} empty at the end)"
    return FileProblem("file_layout", detail, line, f"{expected} columns")


def _trailing_value(plan: Plan, row: list[str], line: int) -> FileProblem:
    at = next(i for i in range(plan.width, len(row)) if row[i].strip())
    if plan.header:
        why = f"the header row names only {plan.width} columns"
    else:
        why = f"v{plan.layout.version} has {plan.width} columns and column {at + 1} is empty in the first record"
    return FileProblem("file_layout", f"line {line} has a value in column {at + 1}, but {why}", line,
                       f"values only in the first {plan.width} columns")
