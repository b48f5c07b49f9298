"""Check-only validation: the same engine and reference data as a submission, writing nothing."""

from __future__ import annotations

import os
from datetime import date, datetime
from typing import IO

from django.utils import timezone

from dids_portal.lib.errors import DomainError
from reference.models import Organisation
from submissions.cycle.lock import month_window
from submissions.cycle.timetable import month_start
from submissions.engine import Report
from submissions.engine.report_json import check_against
from submissions.selectors import reference_snapshot_load

DATASET_VERSIONS = ("1.0", "2.0")


def file_check(*, source: str | os.PathLike[str] | IO[bytes], organisation_code: str, activity_month: date | str | None,
               as_of: datetime | None = None, dataset_version: str | None = None,
               max_findings: int | None = None) -> Report:
    """Validate a file as if submitted by ``organisation_code`` at ``as_of`` (default now)."""
    code = organisation_code.strip().upper()
    if not Organisation.objects.filter(code=code).exists():
        raise DomainError(f"Unknown organisation {organisation_code!r}.", code="unknown_organisation")
    if dataset_version not in (None, "", *DATASET_VERSIONS):
        raise DomainError(f"The dataset version must be 1.0 or 2.0, got {dataset_version!r}.",
                          code="invalid_dataset_version")
    snapshot, _release = reference_snapshot_load()
    month = month_start(activity_month) if activity_month else None
    at = as_of or timezone.now()
    window = month_window(organisation_code=code, month=month, at=at) if month else None
    return check_against(source, reference=snapshot, organisation_code=code, activity_month=month,
                         as_of=at, dataset_version=dataset_version or None,
                         max_findings=max_findings,
                         final_deadline=window.final_deadline if window else None,
                         reopened=window.reopened if window else False)

