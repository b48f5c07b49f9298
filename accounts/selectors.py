"""Who may do what: the one place that reads roles and organisation memberships."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet

from accounts.choices import PROVIDER_ROLES, Role
from accounts.models import ApiToken, AuditEvent, Membership

if TYPE_CHECKING:  # accounts never imports reference: the organisations come by the memberships
    from reference.models import Organisation


def _memberships(user: Any) -> list[Membership]:
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_dids_memberships", None)
    if cached is None:
        cached = list(Membership.objects.filter(user=user).select_related("organisation"))
        user._dids_memberships = cached
    return cached


def user_roles(user: Any) -> set[str]:
    return {m.role for m in _memberships(user)}


def is_national(user: Any) -> bool:
    """National analysts (and superusers) see every organisation's submissions."""
    if getattr(user, "is_superuser", False):
        return True
    return Role.NATIONAL_ANALYST in user_roles(user)


def is_reference_admin(user: Any) -> bool:
    if getattr(user, "is_superuser", False):
        return True
    return Role.REFERENCE_ADMIN in user_roles(user)


def provider_organisation_codes(user: Any, *, roles: tuple[str, ...] = PROVIDER_ROLES,
                                token: ApiToken | None = None) -> set[str]:
    """The organisations whose own data this user (or token) may see or, with the right role, send."""
    if token is not None:
        return {token.organisation_id} if token.is_active else set()
    return {m.organisation_id for m in _memberships(user) if m.role in roles and m.organisation_id}


def provider_organisations(user: Any) -> list[Organisation]:
    """The organisations this user holds a provider role in, by name (from the memberships
    already read for the request)."""
    found = {m.organisation_id: m.organisation for m in _memberships(user)
             if m.role in PROVIDER_ROLES and m.organisation is not None}
    return sorted(found.values(), key=lambda organisation: organisation.name)


def can_submit_for(user: Any, organisation_code: str, *, token: ApiToken | None = None) -> bool:
    codes = provider_organisation_codes(user, roles=(Role.PROVIDER_SUBMITTER,), token=token)
    return organisation_code in codes


def audit_event_list_for(*, user: Any, token: ApiToken | None = None) -> QuerySet[AuditEvent]:
    """Audit events this user may read: national analysts all, providers their organisations'."""
    queryset = AuditEvent.objects.all()
    if token is None and is_national(user):
        return queryset
    codes = provider_organisation_codes(user, token=token)
    if not codes:
        return queryset.none()
    return queryset.filter(organisation_code__in=codes)


def second_factor_required(user: Any) -> bool:
    """National analysts, reference admins and staff must use a second factor (TOTP)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff or user.is_superuser:
        return True
    return bool(user_roles(user) & {Role.NATIONAL_ANALYST, Role.REFERENCE_ADMIN})
