"""Admin for users, their roles (audited) and the audit trail (read-only)."""

from __future__ import annotations

from typing import Any, ClassVar, cast

from django.contrib import admin
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice
from simple_history.admin import SimpleHistoryAdmin

from accounts.models import AuditEvent, Membership, User
from accounts.services import membership_change, membership_grant, membership_revoke
from dids_portal.lib.admin import ReadableHistoryMixin, ReadOnlyAdminMixin

ADMIN_REASON = "Changed in the admin"


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["role", "organisation"]
    autocomplete_fields: ClassVar[list[str]] = []


@admin.register(User)
class UserAdmin(ReadableHistoryMixin, SimpleHistoryAdmin):
    list_display = ["email", "full_name", "is_active", "is_staff", "last_login"]
    search_fields = ["email", "full_name"]
    list_filter = ["is_active", "is_staff"]
    fields = ["email", "full_name", "is_active", "is_staff", "date_joined", "last_login"]
    readonly_fields = ["date_joined", "last_login"]
    inlines = [MembershipInline]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Roles granted, changed and revoked here go through the services (audited, and the
        tokens of a user who can no longer submit stop)."""
        if formset.model is not Membership:
            super().save_formset(request, form, formset, change)
            return
        actor = cast(User, request.user)
        instances = formset.save(commit=False)
        for removed in formset.deleted_objects:
            membership_revoke(actor=actor, membership=removed, reason=ADMIN_REASON,
                              request=request)
        for membership in instances:
            if membership.pk is None:
                membership_grant(actor=actor, user=form.instance, role=membership.role,
                                 organisation_code=membership.organisation_id,
                                 reason=ADMIN_REASON, request=request)
            else:
                membership_change(actor=actor, membership=membership, role=membership.role,
                                  organisation_code=membership.organisation_id,
                                  reason=ADMIN_REASON, request=request)
        formset.save_m2m()


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
