"""Serializers of the monthly cycle's API: periods, reopenings, cut-offs and extracts."""

from __future__ import annotations

from rest_framework import serializers

from submissions.choices import CutOffKind, ExtractFormat
from submissions.models import CutOff, Extract, PeriodReopening, ReportingPeriod


class PeriodSerializer(serializers.ModelSerializer):
    month = serializers.SerializerMethodField()
    locked = serializers.SerializerMethodField()

    class Meta:
        model = ReportingPeriod
        fields = ["month", "provisional_deadline", "final_deadline", "notes", "locked"]

    def get_month(self, obj: ReportingPeriod) -> str:
        return f"{obj.activity_month:%Y-%m}"

    def get_locked(self, obj: ReportingPeriod) -> bool:
        from django.utils import timezone

        return timezone.now() > obj.final_deadline


class PeriodUpdateSerializer(serializers.Serializer):
    provisional_deadline = serializers.DateTimeField(required=False)
    final_deadline = serializers.DateTimeField(required=False)
    notes = serializers.CharField(required=False, allow_blank=True)
    change_reason = serializers.CharField(max_length=100)


class ReopeningSerializer(serializers.ModelSerializer):
    month = serializers.SerializerMethodField()
    organisation = serializers.CharField(source="organisation_id")
    granted_by = serializers.EmailField(source="granted_by.email", default=None)

    class Meta:
        model = PeriodReopening
        fields = ["id", "month", "organisation", "reason", "expires_at", "granted_by",
                  "granted_at"]

    def get_month(self, obj: PeriodReopening) -> str:
        return f"{obj.period.activity_month:%Y-%m}"


class ReopenSerializer(serializers.Serializer):
    organisation = serializers.CharField()
    reason = serializers.CharField()
    expires_at = serializers.DateTimeField()


class CutOffSerializer(serializers.ModelSerializer):
    month = serializers.SerializerMethodField()
    run_by = serializers.EmailField(source="run_by.email", default=None)

    class Meta:
        model = CutOff
        fields = ["id", "month", "kind", "deadline", "taken_at", "run_by", "run_by_label",
                  "code_version", "record_count", "records_checksum", "manifest"]

    def get_month(self, obj: CutOff) -> str:
        return f"{obj.period.activity_month:%Y-%m}"


class CutOffRunSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    kind = serializers.ChoiceField(choices=CutOffKind.choices)
    ignore_pending = serializers.BooleanField(default=False)


class ExtractSerializer(serializers.ModelSerializer):
    month = serializers.SerializerMethodField()
    kind = serializers.CharField(source="cutoff.kind")
    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = Extract
        fields = ["id", "month", "kind", "format", "state", "rows_done", "rows_total", "percent",
                  "requested_at", "started_at", "finished_at", "sha256", "error"]

    def get_month(self, obj: Extract) -> str:
        return f"{obj.cutoff.period.activity_month:%Y-%m}"


class ExtractRequestSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=ExtractFormat.choices)
