"""The monthly cycle: the timetable, audited reopenings, frozen cut-offs and their extracts.

A cut-off is the monthly data product frozen at a deadline: the versions it took are rows
(``CutOffVersion``), its manifest says where each came from, and its checksum is over the
records those versions hold. Once written it never changes.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from submissions.choices import CutOffKind, ExtractFormat, ExtractState


class ReportingPeriod(models.Model):
    """One activity month of the timetable: its provisional and final (window close) deadlines."""

    activity_month = models.DateField(unique=True, help_text="The first day of the activity month.")
    provisional_deadline = models.DateTimeField()
    final_deadline = models.DateTimeField(
        help_text="Window close: after it the month is locked unless reopened.")
    notes = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-activity_month"]
        constraints = [
            models.CheckConstraint(name="period_month_first_day",
                                   condition=Q(activity_month__day=1)),
            models.CheckConstraint(
                name="period_final_after_provisional",
                condition=Q(final_deadline__gte=F("provisional_deadline")),
                violation_error_message="The final deadline must not be before the provisional one."),
        ]

    def __str__(self) -> str:
        return f"{self.activity_month:%Y-%m}"

    def clean(self) -> None:
        if self.activity_month and self.activity_month.day != 1:
            raise ValidationError({"activity_month": "Use the first day of the month."})

    def deadline(self, kind: str) -> datetime:
        return self.final_deadline if kind == CutOffKind.FINAL else self.provisional_deadline


class PeriodReopening(models.Model):
    """A national user lets one organisation submit for a locked month until ``expires_at``."""

    period = models.ForeignKey(ReportingPeriod, on_delete=models.PROTECT, related_name="reopenings")
    organisation = models.ForeignKey("reference.Organisation", on_delete=models.PROTECT,
                                     related_name="reopenings")
    reason = models.TextField()
    expires_at = models.DateTimeField()
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    granted_at = models.DateTimeField(default=timezone.now)
    # Ended early by a national user: ``expires_at`` is then the moment it ended.
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 null=True, blank=True, related_name="+")
    end_reason = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-granted_at"]
        constraints = [
            models.CheckConstraint(name="reopening_has_reason", condition=~Q(reason="")),
            models.CheckConstraint(name="reopening_expires_after_grant",
                                   condition=Q(expires_at__gt=F("granted_at"))),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.period} reopened until {self.expires_at:%Y-%m-%d %H:%M}"

    def is_current(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.granted_at <= now < self.expires_at


class CutOff(models.Model):
    """The frozen monthly data product of one period at one deadline. Immutable."""

    period = models.ForeignKey(ReportingPeriod, on_delete=models.PROTECT, related_name="cutoffs")
    kind = models.CharField(max_length=12, choices=CutOffKind.choices)
    deadline = models.DateTimeField(help_text="The instant whose live versions were taken.")
    taken_at = models.DateTimeField(default=timezone.now)
    run_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                               blank=True, related_name="+")
    run_by_label = models.CharField(max_length=100, help_text="Who or what ran it.")
    code_version = models.CharField(max_length=80)
    record_count = models.BigIntegerField()
    # Stored when it is taken, so the cut-off lists never count their versions.
    organisation_count = models.PositiveIntegerField(
        default=0, help_text="Organisations whose version it took.")
    records_checksum = models.CharField(max_length=64)
    manifest = models.JSONField()
    statistics = models.JSONField(default=dict, help_text="Statistics computed at the cut-off.")

    class Meta:
        ordering = ["-period__activity_month", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["period", "kind"], name="cutoff_one_per_period_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.period} {self.kind} cut-off"


class CutOffVersion(models.Model):
    """One organisation's version in a cut-off: the one live at the deadline instant."""

    cutoff = models.ForeignKey(CutOff, on_delete=models.CASCADE, related_name="versions")
    organisation = models.ForeignKey("reference.Organisation", on_delete=models.PROTECT,
                                     related_name="+")
    submission = models.ForeignKey("submissions.Submission", on_delete=models.PROTECT,
                                   related_name="cutoff_inclusions")

    class Meta:
        ordering = ["cutoff", "organisation"]
        constraints = [
            models.UniqueConstraint(fields=["cutoff", "organisation"],
                                    name="cutoff_version_one_per_organisation"),
        ]

    def __str__(self) -> str:
        return f"{self.cutoff}: {self.submission}"


class Reminder(models.Model):
    """A reminder e-mailed to one organisation before one deadline: sent once, whatever reruns."""

    period = models.ForeignKey(ReportingPeriod, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=12, choices=CutOffKind.choices)
    organisation = models.ForeignKey("reference.Organisation", on_delete=models.PROTECT,
                                     related_name="+")
    recipients = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(fields=["period", "kind", "organisation"],
                                    name="reminder_once_per_deadline"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} reminded of {self.period} {self.kind}"


def extract_path(instance: Extract, filename: str) -> str:
    return f"extracts/{uuid.uuid4().hex}/{filename}"


class Extract(models.Model):
    """A pseudonymised national extract of a cut-off, made by a task; its job state is here."""

    cutoff = models.ForeignKey(CutOff, on_delete=models.PROTECT, related_name="extracts")
    format = models.CharField(max_length=8, choices=ExtractFormat.choices)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     null=True, blank=True, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=16, choices=ExtractState.choices,
                             default=ExtractState.QUEUED)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Times a worker started writing it (a worker that dies counts).")
    rows_done = models.BigIntegerField(default=0)
    rows_total = models.BigIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    file = models.FileField(upload_to=extract_path, max_length=300, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.cutoff} extract ({self.format}): {self.state}"

    @property
    def percent(self) -> int:
        if self.state == ExtractState.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, int(100 * self.rows_done / self.rows_total))
