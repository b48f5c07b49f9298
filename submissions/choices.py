from django.db import models


class SubmissionStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    ACCEPTED = "accepted", "Accepted"
    ACCEPTED_WITH_WARNINGS = "accepted_with_warnings", "Accepted with warnings"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"


ACCEPTED_STATUSES = (SubmissionStatus.ACCEPTED, SubmissionStatus.ACCEPTED_WITH_WARNINGS)
FINISHED_STATUSES = (*ACCEPTED_STATUSES, SubmissionStatus.REJECTED, SubmissionStatus.FAILED)


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    VALIDATING = "validating", "Validating and storing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ExtractState(models.TextChoices):
    """An extract's job: queued, being written by a worker, then done or failed. A worker that
    dies mid-write leaves it writing; it is queued again (``extract_recover_stalled``)."""

    QUEUED = "queued", "Queued"
    WRITING = "writing", "Writing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Severity(models.TextChoices):
    FILE = "file", "File rejected"
    REJECT = "reject", "Record rejected"
    WARN = "warn", "Warning"


class Channel(models.TextChoices):
    WEB = "web", "Upload page"
    API = "api", "API"
    CLI = "cli", "Command line"
    DEMO = "demo", "Demo data"


class CutOffKind(models.TextChoices):
    PROVISIONAL = "provisional", "Provisional"
    FINAL = "final", "Final"


class ComplianceState(models.TextChoices):
    NOT_DUE = "not_due", "Not due yet"
    DUE = "due", "Due"
    ON_TIME = "on_time", "Received on time"
    LATE = "late", "Received late"
    MISSING = "missing", "Missing"
    REJECTED_ONLY = "rejected_only", "Rejected only"


class ExtractFormat(models.TextChoices):
    CSV = "csv", "CSV"
    PARQUET = "parquet", "Parquet"
