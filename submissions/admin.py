from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from accounts.selectors import is_national
from submissions.models import Submission, SubmissionJob


class SubmissionJobInline(admin.StackedInline):
    model = SubmissionJob
    can_delete = False
    readonly_fields = ["state", "rows_done", "rows_estimate", "attempts", "queued_at",
                       "started_at", "finished_at", "error"]


@admin.register(Submission)
class SubmissionAdmin(SimpleHistoryAdmin):
    """Read-only: versions change only through the submission services."""

    list_display = ["id", "organisation", "activity_month", "version", "status", "is_live",
                    "rows", "accepted_rows", "rejected_rows", "received_at", "channel"]
    list_filter = ["status", "is_live", "channel", "activity_month"]
    search_fields = ["organisation__code", "organisation__name", "sha256"]
    list_select_related = ["organisation"]
    inlines = [SubmissionJobInline]
    history_list_display = ["status", "is_live", "history_change_reason"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Submission._meta.fields]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff and is_national(request.user))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
