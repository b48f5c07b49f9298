"""Admin for users, their roles (audited) and the audit trail (read-only)."""

from __future__ import annotations

from typing import Any, ClassVar, cast

from django.contrib import admin
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice
from simple_history.admin import SimpleHistoryAdmin

from accounts.audit import audit_record
from accounts.choices import AuditAction
from accounts.models import AuditEvent, Membership, User
from accounts.services import api_tokens_stop_without_role
from dids_portal.lib.admin import ReadableHistoryMixin, ReadOnlyAdminMixin


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["role", "organisation"]
    autocomplete_fields: ClassVar[list[str]] = []


def _membership_state(membership: Membership) -> dict[str, Any]:
    return {"user": membership.user.email, "role": membership.role,
            "organisation": membership.organisation_id}


@admin.register(User)
class UserAdmin(ReadableHistoryMixin, SimpleHistoryAdmin):
    list_display = ["email", "full_name", "is_active", "is_staff", "last_login"]
    search_fields = ["email", "full_name"]
    list_filter = ["is_active", "is_staff"]
    fields = ["email", "full_name", "is_active", "is_staff", "date_joined", "last_login"]
    readonly_fields = ["date_joined", "last_login"]
    inlines = [MembershipInline]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Role changes made here go to the audit trail like those made by the service."""
        # Read afresh: validation has already changed the formset's instances in place.
        before = {m.pk: _membership_state(m) for m in
                  Membership.objects.filter(user_id=form.instance.pk).select_related("user")}
        instances = formset.save(commit=False)
        for removed in formset.deleted_objects:
            audit_record(actor=request.user, action=AuditAction.ROLE_REVOKED, request=request,
                         organisation_code=removed.organisation_id,
                         target=f"user:{removed.user_id}", before=before.get(removed.pk))
            removed.delete()
        for membership in instances:
            membership._history_user = request.user
            membership._change_reason = "Changed in the admin"
            is_new = membership.pk is None
            membership.save()
            audit_record(actor=request.user,
                         action=AuditAction.ROLE_GRANTED if is_new else AuditAction.ROLE_CHANGED,
                         request=request, organisation_code=membership.organisation_id,
                         target=f"user:{membership.user_id}",
                         before=None if is_new else before.get(membership.pk),
                         after=_membership_state(membership))
        formset.save_m2m()
        # A token whose owner can no longer submit for its organisation stops for good.
        if formset.model is Membership:
            api_tokens_stop_without_role(user=form.instance, actor=cast(User, request.user),
                                         request=request)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the trail is appended by the application and never edited."""

    list_display = ["seq", "occurred_at", "action", "actor_email", "organisation_code",
                    "ip_address", "target"]
    list_filter = ["action"]
    search_fields = ["actor_email", "organisation_code", "target"]


# django-otp's own device admin shows a device's QR code and key to any staff user who may
# view devices; here devices can only be listed and removed (to reset a lost phone).
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(admin.ModelAdmin):
    list_display = ["user", "name", "confirmed"]
    search_fields = ["user__email"]
    fields = ["user", "name", "confirmed"]
    readonly_fields = ["user", "name", "confirmed"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
