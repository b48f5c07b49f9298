"""Submissions: each uploaded file is one version for an organisation and activity month.

Accepted records and findings are append-only and belong to their version; the versions
are the history of the data. Exactly one version per organisation and month is live.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from submissions.choices import (
    ACCEPTED_STATUSES,
    FINISHED_STATUSES,
    Channel,
    JobState,
    Severity,
    SubmissionStatus,
)


def submission_upload_path(instance: Submission, filename: str) -> str:
    # Never the uploaded name: it is the provider's, and may carry anything.
    return (f"submissions/{instance.organisation_id}/{instance.activity_month:%Y-%m}/"
            f"{uuid.uuid4().hex}.upload")


class Submission(models.Model):
    organisation = models.ForeignKey(
        "reference.Organisation", on_delete=models.PROTECT, related_name="submissions"
    )
    activity_month = models.DateField(help_text="The first day of the activity month.")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=32, choices=SubmissionStatus.choices,
                              default=SubmissionStatus.RECEIVED)
    is_live = models.BooleanField(default=False, help_text="The organisation's live version for the month.")

    file = models.FileField(upload_to=submission_upload_path, max_length=300)
    original_name = models.CharField(max_length=255)
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=100, blank=True)

    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="submissions", help_text="Empty when an operator submitted at the command line.")
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.WEB)
    api_token = models.ForeignKey("accounts.ApiToken", on_delete=models.PROTECT, null=True,
                                  blank=True, related_name="submissions")
    received_at = models.DateTimeField(default=timezone.now)
    as_of = models.DateTimeField(help_text="The submission time the time-relative rules use.")

    dataset_version = models.CharField(max_length=3, blank=True)
    rows = models.PositiveIntegerField(null=True, blank=True)
    accepted_rows = models.PositiveIntegerField(null=True, blank=True)
    rejected_rows = models.PositiveIntegerField(null=True, blank=True)
    warning_count = models.PositiveIntegerField(null=True, blank=True)
    warned_rows = models.PositiveIntegerField(
        null=True, blank=True, help_text="Accepted records carrying at least one warning.")
    file_rejected = models.BooleanField(default=False)
    counts_by_rule = models.JSONField(default=dict, blank=True)
    reference_release = models.ForeignKey("reference.ReferenceRelease", on_delete=models.PROTECT,
                                          null=True, blank=True, related_name="+")
    ruleset_version = models.CharField(max_length=40, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.TextField(blank=True)
    # Assessed while the version is processed (submissions/assessment.py), never at page view.
    record_counts = models.JSONField(
        default=dict, blank=True, help_text="Accepted records by modality, then site.")
    plausibility = models.JSONField(
        default=list, blank=True, help_text="Movements against the organisation's own history.")
    quality = models.JSONField(
        default=dict, blank=True, help_text="Per scored item: records, present, valid, good, share.")
    quality_score = models.FloatField(
        null=True, blank=True, help_text="The mean of the scored items' shares (percent).")
    # A superseded version that no cut-off took: its records moved out of the records table
    # into this Parquet file beside its stored file (submissions/records_archive.py).
    records_archive = models.CharField(
        max_length=300, blank=True, help_text="The Parquet file holding its records, if archived.")
    records_archive_bytes = models.BigIntegerField(null=True, blank=True)
    records_archived_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-activity_month", "organisation", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "activity_month", "version"],
                                    name="submission_unique_version"),
            models.UniqueConstraint(fields=["organisation", "activity_month"],
                                    condition=Q(is_live=True), name="submission_one_live_per_month"),
            models.UniqueConstraint(fields=["organisation", "idempotency_key"],
                                    condition=~Q(idempotency_key=""),
                                    name="submission_unique_idempotency_key"),
            models.CheckConstraint(name="submission_live_only_if_accepted",
                                   condition=Q(is_live=False) | Q(status__in=ACCEPTED_STATUSES)),
            models.CheckConstraint(name="submission_month_first_day",
                                   condition=Q(activity_month__day=1)),
        ]
        indexes = [models.Index(fields=["organisation", "activity_month"])]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.activity_month:%Y-%m} v{self.version}"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES


class SubmissionJob(models.Model):
    """The processing job of a submission: what the page and API poll for progress."""

    submission = models.OneToOneField(Submission, on_delete=models.CASCADE, primary_key=True,
                                      related_name="job")
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED)
    rows_done = models.PositiveIntegerField(default=0)
    rows_estimate = models.PositiveIntegerField(
        default=0, help_text="Rows expected, estimated from the file's first megabyte.")
    attempts = models.PositiveSmallIntegerField(default=0)
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"job of {self.submission_id}: {self.state}"

    @property
    def percent(self) -> int:
        if self.state == JobState.DONE:
            return 100
        if not self.rows_estimate:
            return 0
        return min(99, int(100 * self.rows_done / self.rows_estimate))


class Record(models.Model):
    """One accepted examination record of one version. Written only by COPY/bulk; never changed.

    v1.0's test and report dates are stored as ``activity_date`` and ``report_day``, which
    v2.0 records derive from their timestamps; the dataset version is the submission's.
    """

    # The key is (version, line, month): one index, no sequence, and the order records are read
    # in. The month is the version's; on PostgreSQL the table is partitioned by it (a
    # partition a month, migration 0011, submissions/partitions.py), and a partitioned table's
    # key must hold its partition key. Look-ups by version still use the key's leading column.
    pk = models.CompositePrimaryKey("submission", "line", "activity_month")
    # No database foreign key: records load by COPY in the version's own transaction, which
    # holds the submission row; a per-row constraint trigger would double the load time.
    # No index of its own either: the primary key (submission, line) serves look-ups by
    # version, and a second index would be one more insert per record (about 20% of COPY).
    submission = models.ForeignKey(Submission, on_delete=models.DO_NOTHING, db_constraint=False,
                                   db_index=False, related_name="records")
    line = models.PositiveIntegerField()
    activity_month = models.DateField(help_text="The version's activity month (the partition key).")
    nhs_number = models.TextField(null=True)
    nhs_number_status = models.TextField(null=True)
    birth_date = models.DateField(null=True)
    ethnic_category = models.TextField(null=True)
    gender = models.TextField(null=True)
    postcode = models.TextField(null=True)
    gp_practice = models.TextField(null=True)
    patient_source_setting = models.TextField(null=True)
    referrer_code = models.TextField(null=True)
    referring_org = models.TextField(null=True)
    request_date = models.DateField(null=True)
    request_received_date = models.DateField(null=True)
    procedure_start = models.DateTimeField(null=True)
    procedure_end = models.DateTimeField(null=True)
    nicip_code = models.TextField(null=True)
    snomed_code = models.TextField(null=True)
    report_issued = models.DateTimeField(null=True)
    site_code = models.TextField(null=True)
    accession_number = models.TextField(null=True)
    evaluation_indicator = models.TextField(null=True)
    activity_category = models.TextField(null=True)
    waiting_list_clock_start = models.DateField(null=True)
    # DIAGNOSTIC TEST DATE (v1.0), or the local date of the procedure start (v2.0).
    activity_date = models.DateField()
    # SERVICE REPORT ISSUE DATE (v1.0), or the local date of the report timestamp (v2.0).
    report_day = models.DateField(null=True)
    modality = models.TextField()
    warnings = models.TextField(null=True)

    def __str__(self) -> str:
        return f"{self.submission_id} line {self.line}"


class Finding(models.Model):
    """A validation finding of one version (values masked: never a whole NHS number)."""

    # Indexed by (submission, line) below, which serves look-ups by version too.
    submission = models.ForeignKey(Submission, on_delete=models.DO_NOTHING, db_constraint=False,
                                   db_index=False, related_name="findings")
    line = models.PositiveIntegerField(null=True)
    item = models.TextField(blank=True)
    rule = models.TextField()
    severity = models.CharField(max_length=8, choices=Severity.choices)
    message = models.TextField()
    value = models.TextField(blank=True)
    expected = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["submission", "line"], name="finding_submission_line")]

    def __str__(self) -> str:
        return f"{self.rule} at line {self.line}"
