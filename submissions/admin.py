from typing import Any, ClassVar, cast

from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from accounts.models import User
from accounts.selectors import is_national
from dids_portal.lib.admin import ReadableHistoryMixin, ReadOnlyAdminMixin
from submissions.models import CutOff, PeriodReopening, ReportingPeriod, Submission, SubmissionJob


class SubmissionJobInline(admin.StackedInline):
    model = SubmissionJob
    can_delete = False
    readonly_fields = ["state", "rows_done", "rows_estimate", "attempts", "queued_at",
                       "started_at", "finished_at", "error"]


@admin.register(Submission)
class SubmissionAdmin(ReadableHistoryMixin, ReadOnlyAdminMixin, SimpleHistoryAdmin):
    """Read-only: versions change only through the submission services."""

    list_display = ["id", "organisation", "activity_month", "version", "status", "is_live",
                    "rows", "accepted_rows", "rejected_rows", "received_at", "channel"]
    list_filter = ["status", "is_live", "channel", "activity_month"]
    search_fields = ["organisation__code", "organisation__name", "sha256"]
    list_select_related = ["organisation"]
    inlines = [SubmissionJobInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Submission._meta.fields]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff and is_national(request.user))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)


class NationalOnlyMixin:
    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff and is_national(request.user))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)


@admin.register(ReportingPeriod)
class ReportingPeriodAdmin(ReadableHistoryMixin, NationalOnlyMixin, SimpleHistoryAdmin):
    """The timetable: edits go through ``period_update`` and are kept in its history."""

    list_display = ["activity_month", "provisional_deadline", "final_deadline", "notes"]
    date_hierarchy = "activity_month"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request) and not (obj and obj.cutoffs.exists())

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        from submissions.cycle.services import period_update

        saved = period_update(actor=cast(User, request.user), month=obj.activity_month,
                              provisional_deadline=obj.provisional_deadline,
                              final_deadline=obj.final_deadline, notes=obj.notes,
                              reason="Changed in the admin" if change else "Added in the admin",
                              request=request)
        obj.pk = saved.pk


@admin.register(PeriodReopening)
class PeriodReopeningAdmin(ReadableHistoryMixin, NationalOnlyMixin, SimpleHistoryAdmin):
    """Reopenings are granted through ``period_reopen`` (audited) and never edited."""

    list_display = ["period", "organisation", "expires_at", "granted_by", "granted_at", "reason"]
    list_select_related = ["period", "organisation", "granted_by"]
    fields = ["period", "organisation", "reason", "expires_at"]
    autocomplete_fields: ClassVar[list[str]] = []

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and self.has_module_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        from submissions.cycle.services import period_reopen

        saved = period_reopen(actor=cast(User, request.user), organisation_code=obj.organisation_id,
                              month=obj.period.activity_month, reason=obj.reason,
                              expires_at=obj.expires_at, request=request)
        obj.pk = saved.pk


@admin.register(CutOff)
class CutOffAdmin(ReadOnlyAdminMixin, NationalOnlyMixin, admin.ModelAdmin):
    """Frozen products: read-only."""

    list_display = ["period", "kind", "deadline", "taken_at", "run_by_label", "record_count",
                    "records_checksum"]
    list_filter = ["kind"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in CutOff._meta.fields]
