"""Hand-built versions of June 2026 for diff tests: records written directly, not through a file."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from reference.models import Organisation
from submissions.cycle.timetable import LONDON
from submissions.models import Record, Submission
from submissions.partitions import record_partition_ensure

MONTH = date(2026, 6, 1)
RECEIVED = datetime(2026, 7, 3, 12, tzinfo=LONDON)


def record(accession: str, **changes: Any) -> dict[str, Any]:
    return {
        "site_code": "RR815",
        "accession_number": accession,
        "nhs_number": "4857302617",
        "nicip_code": "CCHES",
        "modality": "CT",
        "activity_date": date(2026, 6, 3),
        "procedure_start": datetime(2026, 6, 3, 10, 0, tzinfo=LONDON),
        "procedure_end": datetime(2026, 6, 3, 10, 20, tzinfo=LONDON),
        **changes,
    }


def version(
    organisation: Organisation, number: int, records: list[dict[str, Any]], month: date = MONTH
) -> Submission:
    submission = Submission.objects.create(
        organisation=organisation,
        activity_month=month,
        version=number,
        status="accepted",
        is_live=False,
        file="hand",
        original_name=f"v{number}.csv",
        size_bytes=1,
        sha256="0" * 64,
        received_at=RECEIVED,
        as_of=RECEIVED,
        rows=len(records),
        accepted_rows=len(records),
        dataset_version="2.0",
        ruleset_version="test",
    )
    record_partition_ensure(month)
    Record.objects.bulk_create(
        Record(submission=submission, activity_month=month, line=line, **values)
        for line, values in enumerate(records, start=1)
    )
    return submission
