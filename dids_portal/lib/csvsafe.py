"""CSV cells that spreadsheets will not run as formulas, and the one way a CSV is downloaded."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Prefix a text cell that a spreadsheet would read as a formula with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_rows(rows: Iterable[Iterable[Any]]) -> Iterator[list[Any]]:
    for row in rows:
        yield [safe_cell(value) for value in row]


class Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The rows as formula-safe CSV lines, one at a time."""
    writer = csv.writer(Echo())
    for row in safe_rows(rows):
        yield writer.writerow(row)


def csv_attachment(lines: Iterable[str], filename: str) -> StreamingHttpResponse:
    """A streamed CSV attachment that no cache keeps (it names people and organisations).

    ``lines`` are CSV lines already made formula-safe (``csv_lines`` makes them).
    """
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response
