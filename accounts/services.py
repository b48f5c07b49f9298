"""Writes for accounts: memberships, API tokens and the audit trail."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts import token_cache
from accounts.audit import audit_record, request_ip, scrub
from accounts.choices import NATIONAL_ROLES, AuditAction, Role
from accounts.models import ApiToken, AuditEvent, Membership, User, api_token_expiry
from accounts.selectors import can_submit_for
from dids_portal.lib.errors import DomainError
from dids_portal.lib.history import history_set

TOKEN_PREFIX = "dids_"  # noqa: S105 - a public prefix, not a secret


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def _membership_state(membership: Membership) -> dict[str, Any]:
    return {"user": membership.user.email, "role": membership.role,
            "organisation": membership.organisation_id}


@transaction.atomic
def membership_grant(*, actor: User | None, user: User, role: str, organisation_code: str | None,
                     reason: str, request: Any = None) -> Membership:
    if role in NATIONAL_ROLES:
        organisation_code = None
    membership = Membership.objects.filter(
        user=user, role=role, organisation_id=organisation_code
    ).first()
    if membership is None:
        # Validate and save once, so the one history row of the grant carries who and why.
        membership = Membership(user=user, role=role, organisation_id=organisation_code)
        membership.full_clean()
        history_set(membership, actor=actor, reason=reason)
        membership.save()
        audit_record(actor=actor, action=AuditAction.ROLE_GRANTED, request=request,
                     organisation_code=organisation_code, target=f"user:{user.pk}",
                     after={"user": user.email, "role": role, "organisation": organisation_code,
                            "reason": reason})
    return membership


@transaction.atomic
def membership_change(*, actor: User | None, membership: Membership, role: str,
                      organisation_code: str | None, reason: str,
                      request: Any = None) -> Membership:
    """Give a membership another role or organisation; the user's API tokens for an
    organisation they can no longer submit for stop (see ``api_tokens_stop_without_role``)."""
    if role in NATIONAL_ROLES:
        organisation_code = None
    stored = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
    before = _membership_state(stored)
    membership.role, membership.organisation_id = role, organisation_code
    membership.full_clean()
    history_set(membership, actor=actor, reason=reason)
    membership.save()
    audit_record(actor=actor, action=AuditAction.ROLE_CHANGED, request=request,
                 organisation_code=organisation_code, target=f"user:{membership.user_id}",
                 before=before, after={**_membership_state(membership), "reason": reason})
    api_tokens_stop_without_role(user=stored.user, actor=actor, request=request)
    return membership


@transaction.atomic
def membership_revoke(*, actor: User | None, membership: Membership, reason: str,
                      request: Any = None) -> None:
    """Take a role away; the user's API tokens for an organisation they can no longer submit
    for stop (see ``api_tokens_stop_without_role``)."""
    stored = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
    before = _membership_state(stored)
    history_set(stored, actor=actor, reason=reason)
    stored.delete()
    audit_record(actor=actor, action=AuditAction.ROLE_REVOKED, request=request,
                 organisation_code=before["organisation"], target=f"user:{stored.user_id}",
                 before=before, after={"reason": reason})
    api_tokens_stop_without_role(user=stored.user, actor=actor, request=request)


@transaction.atomic
def api_token_create(*, actor: User, organisation_code: str, name: str,
                     expires_at: datetime | None = None,
                     request: Any = None) -> tuple[ApiToken, str]:
    """Create a token for a RIS. The plaintext is returned once and never stored."""
    if not can_submit_for(actor, organisation_code):
        raise DomainError(
            "Only a provider submitter of this organisation can create its API tokens.",
            code="permission_denied", status_code=403,
        )
    name = name.strip()
    if not name:
        raise DomainError("Give the token a name, such as the RIS it is for.", code="invalid")
    longest = api_token_expiry()
    if expires_at is not None and expires_at > longest:
        raise DomainError(f"A token can last at most {settings.DIDS_TOKEN_DAYS} days.",
                          code="invalid")
    prefix = secrets.token_hex(4)
    plaintext = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        name=name[:100], organisation_id=organisation_code, user=actor, prefix=prefix,
        key_hash=hash_token(plaintext), expires_at=expires_at or longest,
    )
    history_set(token, actor=actor, reason=f"API token '{token.name}' created")
    token.save()
    audit_record(actor=actor, action=AuditAction.API_TOKEN_CREATED, request=request,
                 organisation_code=organisation_code, target=f"api_token:{token.pk}",
                 after={"name": token.name, "prefix": prefix,
                        "expires_at": token.expires_at.isoformat()})
    return token, plaintext


@transaction.atomic
def api_token_revoke(*, actor: User, token: ApiToken, request: Any = None) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if not can_submit_for(actor, token.organisation_id) and not actor.is_superuser:
        raise DomainError("You cannot revoke this token.", code="permission_denied", status_code=403)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        history_set(token, actor=actor, reason="API token revoked")
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action=AuditAction.API_TOKEN_REVOKED, request=request,
                     organisation_code=token.organisation_id, target=f"api_token:{token.pk}",
                     before={"revoked": False}, after={"revoked": True, "prefix": token.prefix})
    return token


def _token_stop(token: ApiToken, *, actor: User | None, reason: str,
                request: Any = None) -> None:
    """Revoke a token for good (the row is locked by the caller or is fresh)."""
    token.revoked_at = timezone.now()
    history_set(token, actor=actor, reason=reason)
    token.save(update_fields=["revoked_at"])
    audit_record(actor=actor, action=AuditAction.API_TOKEN_REVOKED, request=request,
                 organisation_code=token.organisation_id, target=f"api_token:{token.pk}",
                 before={"revoked": False},
                 after={"revoked": True, "prefix": token.prefix, "reason": reason})


def _owner_may_submit(token: ApiToken) -> bool:
    return Membership.objects.filter(user_id=token.user_id, organisation_id=token.organisation_id,
                                     role=Role.PROVIDER_SUBMITTER).exists()


@transaction.atomic
def api_tokens_stop_without_role(*, user: User, actor: User | None,
                                 request: Any = None) -> list[ApiToken]:
    """Revoke the user's tokens for every organisation they can no longer submit for.

    Called whenever a user's roles change (the admin). Revoked, not merely refused: a token
    stays stopped if the role is given back, so that a role briefly lost and regained does
    not bring back a token nobody was watching."""
    stopped = []
    for token in ApiToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True):
        if not _owner_may_submit(token):
            _token_stop(token, actor=actor, request=request,
                        reason="Its owner is no longer a provider submitter of the organisation")
            stopped.append(token)
    return stopped


def api_token_check(plaintext: str) -> tuple[ApiToken | None, str]:
    """The active token matching this plaintext, whose owner may still submit for its
    organisation; else None and why (specific only to a caller who holds a real token)."""
    unknown = "The API token is not valid, expired or revoked."
    if not plaintext.startswith(TOKEN_PREFIX):
        return None, unknown
    parts = plaintext[len(TOKEN_PREFIX):].split("_", 1)
    if len(parts) != 2:
        return None, unknown
    # One query: the token, its owner, and whether the owner may still submit for it.
    owner_may_submit = Membership.objects.filter(
        user=OuterRef("user"), organisation=OuterRef("organisation"), role=Role.PROVIDER_SUBMITTER)
    token = (ApiToken.objects.select_related("user", "organisation")
             .annotate(owner_may_submit=Exists(owner_may_submit))
             .filter(prefix=parts[0]).first())
    if token is None or not secrets.compare_digest(token.key_hash, hash_token(plaintext)):
        return None, unknown
    now = timezone.now()
    if token.revoked_at is not None:
        return None, f"The API token was revoked on {_when(token.revoked_at)}."
    if token.expires_at <= now:
        return None, (f"The API token expired on {_when(token.expires_at)}. A provider "
                      "submitter of the organisation can create a new one.")
    if not token.user.is_active:
        return None, "The API token's owner is no longer active."
    if not getattr(token, "owner_may_submit", False):
        # The owner lost the role some other way than the admin: stop the token for good now.
        with transaction.atomic():
            locked = ApiToken.objects.select_for_update().get(pk=token.pk)
            if locked.revoked_at is None:
                _token_stop(locked, actor=None, reason="Its owner is no longer a provider "
                                                       "submitter of the organisation")
        return None, ("The API token was revoked: its owner is no longer a provider submitter "
                      "of the organisation.")
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token, ""


def api_token_verify(plaintext: str) -> tuple[ApiToken | None, str]:
    """``api_token_check``, answered from the verified tokens of the last seconds when it can
    (``accounts.token_cache``): what the API's authentication calls on every request."""
    key_hash = hash_token(plaintext)
    token = token_cache.recall(key_hash)
    if token is not None:
        return token, ""
    token, refusal = api_token_check(plaintext)
    if token is not None:
        token_cache.remember(key_hash, token)
    return token, refusal


def api_token_authenticate(plaintext: str) -> ApiToken | None:
    """The active token matching this plaintext (see ``api_token_check``)."""
    return api_token_check(plaintext)[0]


def _when(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%d %B %Y %H:%M} (UK time)"


# Password guessing spread over many addresses -------------------------------------------------
#
# django-axes locks one (email, address) pair after a few failures. Guessing spread over many
# addresses gets past that, so an account that sees failed sign-ins from GUESSING_ADDRESSES or
# more addresses within GUESSING_WINDOW is *rate limited*, not locked: at most
# GUESSING_TRIES_PER_MINUTE tries a minute, counted over every address. A try over the limit is
# refused without checking the password (and is not counted, so refusals never extend the
# limit). Addresses the owner signed in from in the last FAMILIAR_FOR are not limited, so that
# no stranger can keep the owner out; from a new address the owner gets in after waiting a
# minute. The owner is e-mailed and the trail gets a sign_in_limited event, once per window.

GUESSING_ADDRESSES = 3
GUESSING_WINDOW = timedelta(hours=1)
GUESSING_TRIES_PER_MINUTE = 3
FAMILIAR_FOR = timedelta(days=30)
LIMITED_MESSAGE = ("This account has had failed sign-ins from several places, so it can be "
                   "tried only a few times a minute. Wait a minute, then try again.")


def _sign_in_failures(email: str, *, since: datetime) -> Any:
    return AuditEvent.objects.filter(action=AuditAction.SIGN_IN_FAILED, occurred_at__gte=since,
                                     after__email=scrub(email))


def _guessing_spread(email: str, now: datetime) -> int:
    """How many addresses failed to sign in as this email in the window (0 below the bar)."""
    addresses = (_sign_in_failures(email, since=now - GUESSING_WINDOW)
                 .exclude(ip_address__isnull=True).values("ip_address").distinct().count())
    return addresses if addresses >= GUESSING_ADDRESSES else 0


def sign_in_limited(*, email: str, request: Any) -> bool:
    """Whether a sign-in as ``email`` from this request is refused by the guessing limit."""
    email = email.strip().lower()
    now = timezone.now()
    if not email or not _guessing_spread(email, now):
        return False
    address = request_ip(request)
    user = User.objects.filter(email=email).first()
    if user is not None and address and AuditEvent.objects.filter(
            action=AuditAction.SIGN_IN, actor_id=user.pk, ip_address=address,
            occurred_at__gte=now - FAMILIAR_FOR).exists():
        return False
    recent = _sign_in_failures(email, since=now - timedelta(minutes=1)).count()
    return recent >= GUESSING_TRIES_PER_MINUTE


def sign_in_failure_record(*, email: str, request: Any) -> None:
    """Audit a failed sign-in; the first time in the window that failures come from many
    addresses, tell the trail and the account's owner that the account is now limited."""
    email = email.strip().lower()[:254]
    audit_record(actor=None, action=AuditAction.SIGN_IN_FAILED, request=request,
                 after={"email": email})
    now = timezone.now()
    addresses = _guessing_spread(email, now) if email else 0
    if not addresses or AuditEvent.objects.filter(
            action=AuditAction.SIGN_IN_LIMITED, occurred_at__gte=now - GUESSING_WINDOW,
            after__email=scrub(email)).exists():
        return
    user = User.objects.filter(email=email, is_active=True).first()
    audit_record(actor=None, action=AuditAction.SIGN_IN_LIMITED, request=request,
                 target=f"user:{user.pk}" if user else "",
                 after={"email": email, "addresses": addresses,
                        "tries_per_minute": GUESSING_TRIES_PER_MINUTE})
    if user is not None:
        send_mail(
            "DIDS: failed sign-ins to your account",
            f"Someone failed to sign in to the DIDS portal as {email} from {addresses} "
            "different addresses in the last hour.\n\nTo protect the account, it can now be "
            f"tried only {GUESSING_TRIES_PER_MINUTE} times a minute from places you have not "
            "signed in from lately. You can still sign in: if you are refused, wait a minute "
            "and try again.\n\nIf this was not you, change your password and tell your "
            "organisation's DIDS lead.\n",
            None, [user.email], fail_silently=True)


# The second factor ---------------------------------------------------------------------------


@transaction.atomic
def totp_device_for_setup(*, user: User) -> Any:
    """The user's unconfirmed TOTP device, made if there is none (the setup page shows its key;
    it counts only once a code from it has been given and it is confirmed)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


@transaction.atomic
def totp_device_confirm(*, device: Any, request: Any = None) -> Any:
    """Confirm a TOTP device once a code from it has been given: it counts from now on.
    Audited here, with the address of the request that confirmed it."""
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit_record(actor=device.user, action=AuditAction.OTP_DEVICE_ADDED, request=request,
                 target=f"user:{device.user_id}", after={"device": "totp", "name": device.name})
    return device


def audit_export_record(*, actor: Any, filters: dict[str, Any], request: Any = None) -> None:
    """Audit an export of the audit trail, with the filters it was asked for."""
    audit_record(actor=actor, action=AuditAction.AUDIT_EXPORTED, request=request,
                 after={"filters": filters})


def second_factor_failure_record(*, user: Any, request: Any = None) -> None:
    """Audit a wrong second-factor code, with the address it came from."""
    audit_record(actor=user, action=AuditAction.OTP_VERIFY_FAILED, request=request,
                 target=f"user:{user.pk}")
