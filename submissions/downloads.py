"""Findings downloads: a CSV of findings, and the provider's own file annotated with them."""

from __future__ import annotations

import csv
import io
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from functools import cache
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse

from accounts.audit import audit_record
from accounts.choices import AuditAction
from accounts.models import ApiToken
from dids_portal.lib.csvsafe import Echo, csv_attachment, safe_rows
from submissions.engine import load_layouts
from submissions.models import Submission
from submissions.selectors import finding_list

FINDING_HEADER = ["line", "item", "rule", "severity", "message", "value", "expected"]


def findings_csv_rows(submission: Submission) -> Iterator[str]:
    writer = csv.writer(Echo())
    yield writer.writerow(FINDING_HEADER)
    rows = finding_list(submission=submission).values_list(*FINDING_HEADER).iterator(chunk_size=5000)
    for row in safe_rows(rows):
        yield writer.writerow(row)


def _open_text(submission: Submission) -> io.TextIOBase:
    handle = submission.file.open("rb")
    head = handle.read(4)
    handle.seek(0)
    if head.startswith(b"PK\x03\x04"):
        archive = zipfile.ZipFile(handle)
        names = [n for n in archive.namelist() if not n.endswith("/")]
        raw = archive.open(names[0]) if names else io.BytesIO(b"")
        return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
    return io.TextIOWrapper(handle, encoding="utf-8-sig", errors="replace", newline="")


@cache
def header_names() -> frozenset[str]:
    """Every name a header cell may carry: column names and NHS DD names, lower-case."""
    names: set[str] = set()
    for item in load_layouts().items:
        names |= {item.column.lower(), item.nhs_dd.lower(), (item.nhs_dd_v2 or "").lower()}
    return frozenset(names - {""})


def _is_header(row: list[str]) -> bool:
    names = header_names()
    return bool(row) and all(cell.strip().lower() in names for cell in row if cell.strip())


def annotated_csv_rows(submission: Submission) -> Iterator[str]:
    """The submitted file, row for row, with a ``dids_findings`` column (formula-safe)."""
    by_line: dict[int, list[str]] = defaultdict(list)
    file_level: list[str] = []
    for line, rule, severity, message in finding_list(submission=submission).values_list(
            "line", "rule", "severity", "message").iterator(chunk_size=5000):
        text = f"{rule} ({severity}): {message}"
        (by_line[line] if line else file_level).append(text)
    writer = csv.writer(Echo())
    if file_level:
        yield writer.writerow(["# file findings: " + " | ".join(file_level)])
    stream = _open_text(submission)
    try:
        reader = csv.reader(stream)
        start = 1
        for index, row in enumerate(reader):
            note = " | ".join(by_line.get(start, []))
            if index == 0 and not note and _is_header(row):
                note = "dids_findings"
            yield writer.writerow(next(safe_rows([[*row, note]])))
            start = reader.line_num + 1
    except csv.Error:
        yield writer.writerow(["# the rest of the file could not be read as CSV"])
    finally:
        stream.close()


def submission_csv_download(*, request: HttpRequest | Any, submission: Submission, kind: str,
                            token: ApiToken | None = None) -> StreamingHttpResponse:
    """A version's ``findings`` or ``annotated`` CSV, its download audited as patient data.

    The one path of the pages and the API (``token``: the API token it came with, if any).
    """
    rows = {"findings": findings_csv_rows, "annotated": annotated_csv_rows}[kind](submission)
    audit_record(actor=request.user, action=AuditAction.PATIENT_DATA_DOWNLOADED,
                 organisation_code=submission.organisation_id, request=request,
                 target=f"submission:{submission.pk}",
                 after={"download": f"{kind}.csv", "version": submission.version,
                        "api_token": token.prefix if token else None})
    return csv_attachment(rows, f"dids-{kind}-{submission.organisation_id}-"
                                f"{submission.activity_month:%Y-%m}-v{submission.version}.csv")
