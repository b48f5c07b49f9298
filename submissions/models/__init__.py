"""The submissions app's models: versions and their records (``versions``), and the monthly
cycle (``cycle``): the timetable, reopenings, cut-offs and extracts."""

from submissions.models.aggregates import VersionStatistics
from submissions.models.cycle import (
    CutOff,
    CutOffVersion,
    Extract,
    PeriodReopening,
    Reminder,
    ReportingPeriod,
)
from submissions.models.storage import PartitionCompaction
from submissions.models.versions import (
    Finding,
    Record,
    Submission,
    SubmissionJob,
    submission_upload_path,
)

__all__ = [
    "CutOff",
    "CutOffVersion",
    "Extract",
    "Finding",
    "PartitionCompaction",
    "PeriodReopening",
    "Record",
    "Reminder",
    "ReportingPeriod",
    "Submission",
    "SubmissionJob",
    "VersionStatistics",
    "submission_upload_path",
]
