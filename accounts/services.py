"""Writes for accounts: memberships and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.choices import NATIONAL_ROLES, Role
from accounts.models import ApiToken, Membership, User
from accounts.selectors import can_submit_for
from dids_portal.lib.errors import DomainError

TOKEN_PREFIX = "dids_"  # noqa: S105 - a public prefix, not a secret


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def _set_history(obj: object, *, actor: User | None, reason: str) -> None:
    obj._history_user = actor  # type: ignore[attr-defined]
    obj._change_reason = reason  # type: ignore[attr-defined]


@transaction.atomic
def membership_grant(*, actor: User | None, user: User, role: str, organisation_code: str | None,
                     reason: str) -> Membership:
    if role in NATIONAL_ROLES:
        organisation_code = None
    membership = Membership.objects.filter(
        user=user, role=role, organisation_id=organisation_code
    ).first()
    if membership is None:
        # Validate and save once, so the one history row of the grant carries who and why.
        membership = Membership(user=user, role=role, organisation_id=organisation_code)
        membership.full_clean()
        _set_history(membership, actor=actor, reason=reason)
        membership.save()
    return membership


@transaction.atomic
def api_token_create(*, actor: User, organisation_code: str, name: str,
                     expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """Create a token for a RIS. The plaintext is returned once and never stored."""
    if not can_submit_for(actor, organisation_code):
        raise DomainError(
            "Only a provider submitter of this organisation can create its API tokens.",
            code="permission_denied", status_code=403,
        )
    name = name.strip()
    if not name:
        raise DomainError("Give the token a name, such as the RIS it is for.", code="invalid")
    prefix = secrets.token_hex(4)
    plaintext = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        name=name[:100], organisation_id=organisation_code, user=actor, prefix=prefix,
        key_hash=hash_token(plaintext), expires_at=expires_at,
    )
    _set_history(token, actor=actor, reason=f"API token '{token.name}' created")
    token.save()
    return token, plaintext


@transaction.atomic
def api_token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if not can_submit_for(actor, token.organisation_id) and not actor.is_superuser:
        raise DomainError("You cannot revoke this token.", code="permission_denied", status_code=403)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        _set_history(token, actor=actor, reason="API token revoked")
        token.save(update_fields=["revoked_at"])
    return token


def api_token_authenticate(plaintext: str) -> ApiToken | None:
    """The active token matching this plaintext, whose owner may still submit for its organisation."""
    if not plaintext.startswith(TOKEN_PREFIX):
        return None
    parts = plaintext[len(TOKEN_PREFIX):].split("_", 1)
    if len(parts) != 2:
        return None
    token = ApiToken.objects.select_related("user", "organisation").filter(prefix=parts[0]).first()
    if token is None or not secrets.compare_digest(token.key_hash, hash_token(plaintext)):
        return None
    if not token.is_active or not token.user.is_active:
        return None
    if not Membership.objects.filter(
        user=token.user, organisation_id=token.organisation_id, role=Role.PROVIDER_SUBMITTER
    ).exists():
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
