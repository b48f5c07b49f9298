"""Cross-cutting receivers: the audit trail of sign-ins, second-factor removals and reference
changes (a device is confirmed, and audited, by ``accounts.services.totp_device_confirm``),
the session's start time (for the absolute session limit), and forgetting the verified API
tokens when a token, a role or a user changes."""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice
from simple_history.signals import post_create_historical_record

from accounts import token_cache
from accounts.audit import audit_record
from accounts.choices import AuditAction
from accounts.middleware import SESSION_OTP_ENROLLED_KEY, SESSION_STARTED_KEY
from accounts.models import ApiToken, Membership, User
from accounts.services import sign_in_failure_record

REFERENCE_APP = "reference"


def axes_username(request: Any, credentials: dict[str, Any] | None) -> str:
    """The name django-axes locks: the email as typed, trimmed and lower-cased."""
    raw = (credentials or {}).get("username") or ""
    if not raw and request is not None and hasattr(request, "POST"):
        raw = request.POST.get("username", "")
    return str(raw).strip().lower()


@receiver(user_logged_in, dispatch_uid="dids_signed_in")
def signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_STARTED_KEY] = int(time.time())
        request.session[SESSION_OTP_ENROLLED_KEY] = user_has_device(user)
    audit_record(actor=user, action=AuditAction.SIGN_IN, request=request,
                 target=f"user:{user.pk}")


@receiver(user_login_failed, dispatch_uid="dids_sign_in_failed")
def sign_in_failed(sender: Any, credentials: dict[str, Any], request: Any = None,
                   **kwargs: Any) -> None:
    if getattr(request, "dids_sign_in_limited", False):
        return  # refused by the guessing limit without a check: not a try, not counted
    sign_in_failure_record(email=axes_username(request, credentials), request=request)


@receiver(user_logged_out, dispatch_uid="dids_signed_out")
def signed_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(actor=user, action=AuditAction.SIGN_OUT, request=request,
                     target=f"user:{user.pk}")


@receiver(post_delete, sender=TOTPDevice, dispatch_uid="dids_totp_deleted")
def totp_device_deleted(sender: Any, instance: TOTPDevice, **kwargs: Any) -> None:
    if instance.confirmed:
        audit_record(actor=None, action=AuditAction.OTP_DEVICE_REMOVED,
                     target=f"user:{instance.user_id}",
                     before={"device": "totp", "name": instance.name})


@receiver(post_create_historical_record, dispatch_uid="dids_reference_changed")
def reference_changed(sender: Any, instance: Any, history_instance: Any, history_user: Any = None,
                      **kwargs: Any) -> None:
    """One audit event per saved reference row (admin edits; bulk loads audit themselves)."""
    if instance._meta.app_label != REFERENCE_APP:
        return
    kind = {"+": "created", "~": "changed", "-": "deleted"}.get(history_instance.history_type, "")
    before: dict[str, Any] | None = None
    after: dict[str, Any] = {"change": kind, "reason": history_instance.history_change_reason}
    previous = history_instance.prev_record if kind == "changed" else None
    if previous is not None:  # what changed, from the row's history: before and after
        changes = history_instance.diff_against(previous).changes
        before = {change.field: change.old for change in changes}
        after.update({change.field: change.new for change in changes})
    audit_record(actor=history_user, action=AuditAction.REFERENCE_CHANGED,
                 organisation_code=getattr(instance, "organisation_id", None) or None,
                 target=f"{instance._meta.label_lower}:{instance.pk}",
                 before=before, after=after)


@receiver(post_save, sender=ApiToken, dispatch_uid="dids_token_cache_token_saved")
@receiver(post_delete, sender=ApiToken, dispatch_uid="dids_token_cache_token_deleted")
@receiver(post_save, sender=Membership, dispatch_uid="dids_token_cache_role_saved")
@receiver(post_delete, sender=Membership, dispatch_uid="dids_token_cache_role_deleted")
@receiver(post_save, sender=User, dispatch_uid="dids_token_cache_user_saved")
def verified_tokens_forget(sender: Any, **kwargs: Any) -> None:
    """A token, a role or a user changed in this process: no verified token is answered from
    memory here any longer (the other processes follow within DIDS_API_TOKEN_CACHE_SECONDS)."""
    token_cache.forget_all()
