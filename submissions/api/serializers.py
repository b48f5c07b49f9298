from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from submissions.choices import JobState
from submissions.models import Finding, Submission


@extend_schema_field({"type": "string", "pattern": r"^\d{4}-\d{2}$", "example": "2026-06"})
class MonthField(serializers.Field):
    """An activity month as YYYY-MM."""

    def to_representation(self, value: Any) -> str:
        return f"{value:%Y-%m}"

    def to_internal_value(self, data: Any) -> Any:
        from dids_portal.lib.errors import DomainError
        from submissions.services import month_start

        try:
            return month_start(str(data))
        except DomainError as exc:
            raise serializers.ValidationError(exc.message) from exc


class OneFileField(serializers.FileField):
    """A file field that takes exactly one file: a body with two parts of this name is refused
    (DRF would silently keep the last one)."""

    default_error_messages = {"more_than_one": "Send one file: this request has {count}."}

    def get_value(self, dictionary: Any) -> Any:
        files = dictionary.getlist(self.field_name) if hasattr(dictionary, "getlist") else []
        if len(files) > 1:
            return files  # refused in to_internal_value, where errors belong
        return super().get_value(dictionary)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, list):
            self.fail("more_than_one", count=len(data))
        return super().to_internal_value(data)


class SubmissionUploadSerializer(serializers.Serializer):
    file = OneFileField(help_text="A DIDS CSV file, or a zip holding exactly one CSV.")
    organisation = serializers.CharField(
        required=False, help_text="ODS code; optional with an organisation token or one membership.")
    activity_month = MonthField(help_text="YYYY-MM")
    idempotency_key = serializers.CharField(
        required=False, allow_blank=True, max_length=100,
        help_text="Or the Idempotency-Key header: the same key again with the same file and "
                  "month returns the first receipt; with another file or month it is a 422.")


class CheckSerializer(serializers.Serializer):
    file = OneFileField()
    organisation = serializers.CharField(required=False)
    activity_month = MonthField(help_text="YYYY-MM")
    as_of = serializers.DateTimeField(required=False, help_text="Submission time for the "
                                      "time-relative rules (default now).")
    dataset_version = serializers.ChoiceField(choices=["1.0", "2.0"], required=False)
    max_findings = serializers.IntegerField(required=False, min_value=0, default=1000)


class JobSerializer(serializers.Serializer):
    state = serializers.CharField()
    rows_done = serializers.IntegerField()
    rows_estimate = serializers.IntegerField()
    percent = serializers.IntegerField()
    attempts = serializers.IntegerField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField()


class PlausibilityNoticeSerializer(serializers.Serializer):
    """A movement of the version's records of a modality at a site against the median of the
    organisation's live versions of the 6 months before. Never a rejection."""

    modality = serializers.CharField()
    site = serializers.CharField()
    records = serializers.IntegerField()
    median = serializers.FloatField()
    change_percent = serializers.FloatField(allow_null=True, help_text="Null when the median is 0.")
    direction = serializers.ChoiceField(choices=["below", "above"])
    history_versions = serializers.IntegerField(help_text="Live versions the median is of.")
    message = serializers.CharField()


class ItemQualitySerializer(serializers.Serializer):
    """One scored item: of the file's records, how many have it present, present and valid,
    and good (present, valid, not a default code); share = good / records, in percent."""

    label = serializers.CharField()
    records = serializers.IntegerField()
    present = serializers.IntegerField()
    valid = serializers.IntegerField()
    good = serializers.IntegerField()
    share = serializers.FloatField()


# The stored JSON comes back from PostgreSQL with its keys reordered: written out in field order.
NOTICE_KEYS = tuple(PlausibilityNoticeSerializer().fields)
ITEM_QUALITY_KEYS = tuple(ItemQualitySerializer().fields)


class SubmissionSerializer(serializers.ModelSerializer):
    activity_month = MonthField()
    submitted_by = serializers.SlugRelatedField(slug_field="email", read_only=True)
    job = JobSerializer(read_only=True)
    reference_release = serializers.StringRelatedField()
    findings_url = serializers.SerializerMethodField()
    plausibility = PlausibilityNoticeSerializer(many=True, read_only=True)
    quality = serializers.DictField(child=ItemQualitySerializer(), read_only=True,
                                    help_text="Per scored item (see /rules/#quality).")
    quality_score = serializers.FloatField(
        read_only=True, allow_null=True, help_text="The mean of the items' shares (percent).")

    class Meta:
        model = Submission
        fields = ["id", "organisation", "activity_month", "version", "status", "is_live",
                  "original_name", "size_bytes", "sha256", "received_at", "as_of", "channel",
                  "submitted_by", "dataset_version", "rows", "accepted_rows", "rejected_rows",
                  "warning_count", "file_rejected", "counts_by_rule", "reference_release",
                  "ruleset_version", "processed_at", "failure_reason", "job", "findings_url",
                  "plausibility", "quality", "quality_score"]
        read_only_fields = fields

    def get_findings_url(self, obj: Submission) -> str:
        return f"/api/submissions/{obj.pk}/findings/"

    def to_representation(self, instance: Submission) -> dict[str, Any]:
        """The fields above, written out: what DRF's generic field-by-field walk gives (a
        test holds the two equal), in a tenth of the time, which is most of a list request."""
        s = instance
        try:
            job = s.job
        except ObjectDoesNotExist:
            job = None
        release = s.reference_release
        user = s.submitted_by
        return {
            "id": s.pk, "organisation": s.organisation_id,
            "activity_month": f"{s.activity_month:%Y-%m}", "version": s.version,
            "status": str(s.status), "is_live": s.is_live, "original_name": s.original_name,
            "size_bytes": s.size_bytes, "sha256": s.sha256, "received_at": _iso(s.received_at),
            "as_of": _iso(s.as_of), "channel": str(s.channel),
            "submitted_by": user.email if user is not None else None,
            "dataset_version": s.dataset_version, "rows": s.rows,
            "accepted_rows": s.accepted_rows, "rejected_rows": s.rejected_rows,
            "warning_count": s.warning_count, "file_rejected": s.file_rejected,
            "counts_by_rule": s.counts_by_rule,
            "reference_release": str(release) if release is not None else None,
            "ruleset_version": s.ruleset_version, "processed_at": _iso(s.processed_at),
            "failure_reason": s.failure_reason,
            "job": None if job is None else {
                "state": str(job.state), "rows_done": job.rows_done,
                "rows_estimate": job.rows_estimate, "percent": job.percent,
                "attempts": job.attempts, "started_at": _iso(job.started_at),
                "finished_at": _iso(job.finished_at), "error": job.error},
            "findings_url": f"/api/submissions/{s.pk}/findings/",
            "plausibility": [{k: n[k] for k in NOTICE_KEYS} for n in s.plausibility],
            "quality": {key: {k: q[k] for k in ITEM_QUALITY_KEYS} for key, q in s.quality.items()},
            "quality_score": s.quality_score,
        }


# What the status endpoints read for SubmissionSerializer's fields, and no more: a list or a
# version is one query of these columns, written out by ``submission_status_row`` with no
# model objects built (a test holds its output equal to the serializer's).
STATUS_COLUMNS = (
    "id", "organisation_id", "activity_month", "version", "status", "is_live", "original_name",
    "size_bytes", "sha256", "received_at", "as_of", "channel", "submitted_by__email",
    "dataset_version", "rows", "accepted_rows", "rejected_rows", "warning_count",
    "file_rejected", "counts_by_rule", "reference_release__label", "reference_release__loaded_at",
    "ruleset_version", "processed_at", "failure_reason", "job__state", "job__rows_done",
    "job__rows_estimate", "job__attempts", "job__started_at", "job__finished_at", "job__error",
    "plausibility", "quality", "quality_score",
)


def submission_status_row(r: dict[str, Any], tz: tzinfo | None = None) -> dict[str, Any]:
    """A row of STATUS_COLUMNS as SubmissionSerializer writes the version (its times in ``tz``,
    default the current time zone, as DRF writes them)."""
    tz = tz or timezone.get_current_timezone()
    label, loaded_at = r["reference_release__label"], r["reference_release__loaded_at"]
    state = r["job__state"]
    if state is None:
        job = None
    else:
        done, estimate = r["job__rows_done"], r["job__rows_estimate"]
        percent = (100 if state == JobState.DONE else 0 if not estimate
                   else min(99, int(100 * done / estimate)))  # SubmissionJob.percent
        job = {"state": state, "rows_done": done, "rows_estimate": estimate, "percent": percent,
               "attempts": r["job__attempts"], "started_at": _iso(r["job__started_at"], tz),
               "finished_at": _iso(r["job__finished_at"], tz), "error": r["job__error"]}
    pk = r["id"]
    return {
        "id": pk, "organisation": r["organisation_id"],
        "activity_month": f"{r['activity_month']:%Y-%m}", "version": r["version"],
        "status": r["status"], "is_live": r["is_live"], "original_name": r["original_name"],
        "size_bytes": r["size_bytes"], "sha256": r["sha256"],
        "received_at": _iso(r["received_at"], tz), "as_of": _iso(r["as_of"], tz),
        "channel": r["channel"],
        "submitted_by": r["submitted_by__email"], "dataset_version": r["dataset_version"],
        "rows": r["rows"], "accepted_rows": r["accepted_rows"],
        "rejected_rows": r["rejected_rows"], "warning_count": r["warning_count"],
        "file_rejected": r["file_rejected"], "counts_by_rule": r["counts_by_rule"],
        "reference_release": (None if label is None else  # ReferenceRelease.__str__
                              f"{label} ({loaded_at:%Y-%m-%d %H:%M})" if loaded_at else label),
        "ruleset_version": r["ruleset_version"], "processed_at": _iso(r["processed_at"], tz),
        "failure_reason": r["failure_reason"], "job": job,
        "findings_url": f"/api/submissions/{pk}/findings/",
        "plausibility": [{k: n[k] for k in NOTICE_KEYS} for n in r["plausibility"]],
        "quality": {key: {k: q[k] for k in ITEM_QUALITY_KEYS} for key, q in r["quality"].items()},
        "quality_score": r["quality_score"],
    }


def _iso(value: datetime | None, tz: tzinfo | None = None) -> str | None:
    """A time as DRF's DateTimeField writes it: in the current time zone (or ``tz``), UTC as
    "Z"."""
    if value is None:
        return None
    text = value.astimezone(tz or timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class ReceiptSerializer(serializers.ModelSerializer):
    submission_id = serializers.IntegerField(source="pk")
    activity_month = MonthField()
    size = serializers.IntegerField(source="size_bytes")
    url = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = ["submission_id", "organisation", "activity_month", "version", "sha256", "size",
                  "received_at", "status", "url"]
        read_only_fields = fields

    def get_url(self, obj: Submission) -> str:
        return f"/api/submissions/{obj.pk}/"


class FindingSerializer(serializers.ModelSerializer):
    rule_url = serializers.SerializerMethodField(help_text="The rule's explanation on /rules/.")

    class Meta:
        model = Finding
        fields = ["line", "item", "rule", "severity", "message", "value", "expected", "rule_url"]

    def get_rule_url(self, obj: Finding) -> str:
        return reverse("submissions:rules") + f"#{obj.rule}"
