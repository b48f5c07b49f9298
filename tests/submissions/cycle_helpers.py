"""Helpers of the monthly-cycle tests: submit at a given instant, and hand-made files."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from pathlib import Path

import time_machine

from submissions.models import Submission
from submissions.services import submission_create, submission_process
from tests.submissions.conftest import AS_OF, MONTH, upload_of

HEADER = ["nhs_number", "nhs_number_status", "birth_date", "ethnic_category", "gender",
          "postcode", "gp_practice", "patient_source_setting", "referrer_code", "referring_org",
          "request_date", "request_received_date", "procedure_start", "procedure_end",
          "nicip_code", "snomed_code", "report_issued", "site_code", "accession_number",
          "evaluation_indicator", "activity_category", "waiting_list_clock_start"]
CODES = {"CT": ("CCSPI", "426291003"), "MRI": ("MCSPI", "995734002"), "US": ("UNECK", "442460002")}
NHS_NUMBERS = ["6828494474", "7654286538", "5864872385", "7453314259", "6807435010"]


def submit_at(user, path: Path, when: datetime, *, org: str = "RR8", month: date = MONTH,
              process: bool = True) -> Submission:
    """Submit (and process) a file as if received at ``when``."""
    with time_machine.travel(when, tick=False):
        submission, _ = submission_create(
            actor=user, organisation_code=org, activity_month=month, upload=upload_of(path),
            original_name=path.name, as_of=AS_OF, enqueue=lambda pk: None)
    if process:
        submission_process(submission_id=submission.pk)
        submission.refresh_from_db()
    return submission


def hand_file(path: Path, rows: list[dict], *, site: str = "RR815", prefix: str = "ACC") -> Path:
    """A v2.0 file of June 2026 from rows of {modality, request, test, report, source}:
    ``request`` days before the test, the report ``report`` days after it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for i, row in enumerate(rows):
        test_day: date = row.get("test", date(2026, 6, 10))
        request = test_day - timedelta(days=row["request"])
        report = test_day + timedelta(days=row["report"])
        nicip, snomed = CODES[row["modality"]]
        writer.writerow([
            NHS_NUMBERS[i % len(NHS_NUMBERS)], "01", "1960-01-31", "A", "2", "LS12 7DS", "B86012",
            row.get("source", "01"), "G1177582", "RR8", request.isoformat(), request.isoformat(),
            f"{test_day.isoformat()}T10:00:00+01:00", f"{test_day.isoformat()}T10:30:00+01:00",
            nicip, snomed, f"{report.isoformat()}T12:00:00+01:00", site,
            row.get("accession", f"{prefix}{i:05d}"), "N", "02", ""])
    path.write_text(out.getvalue(), encoding="utf-8")
    return path
