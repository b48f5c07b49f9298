from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from accounts.choices import PROVIDER_ROLES, Role


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with their email address."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May sign in to the admin site.")
    date_joined = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email


class Membership(models.Model):
    """A user's role, for one organisation (provider roles) or nationally (national roles)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(
        "reference.Organisation",
        on_delete=models.PROTECT,
        related_name="memberships",
        null=True,
        blank=True,
        help_text="Required for provider roles; empty for national roles.",
    )
    role = models.CharField(max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["user__email", "role"]
        constraints = [
            models.CheckConstraint(
                name="membership_provider_role_has_organisation",
                condition=~Q(role__in=PROVIDER_ROLES) | Q(organisation__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["user", "organisation", "role"], name="membership_unique_per_org_role"
            ),
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=Q(organisation__isnull=True),
                name="membership_unique_national_role",
            ),
        ]

    def __str__(self) -> str:
        where = self.organisation_id or "national"
        return f"{self.user} · {self.get_role_display()} · {where}"


def api_token_expiry() -> datetime:
    """When a token made now expires: ``DIDS_TOKEN_DAYS`` days on."""
    return timezone.now() + timedelta(days=settings.DIDS_TOKEN_DAYS)


class ApiToken(models.Model):
    """A token a RIS uses to call the API for one organisation. Only its hash is stored.

    Every token expires (``DIDS_TOKEN_DAYS`` after it is made, unless made with an earlier
    date). A revoked token stays revoked; so does one stopped because its owner lost the
    submitter role for its organisation, even if the role is given back.
    """

    name = models.CharField(max_length=100)
    organisation = models.ForeignKey(
        "reference.Organisation", on_delete=models.PROTECT, related_name="api_tokens"
    )
    user = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        related_name="api_tokens",
        help_text="The person accountable for the token; the API acts as them for this organisation.",
    )
    prefix = models.CharField(max_length=12, unique=True, help_text="Shown to identify the token.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(default=api_token_expiry)

    history = HistoricalRecords(excluded_fields=["last_used_at"])

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class AuditEvent(models.Model):
    """One entry of the append-only audit trail: who did what, to what, when and from where.

    Rows are written only by ``accounts.services.audit_record`` and never changed: on
    PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE and those privileges are revoked
    (migration ``0004_audit_append_only``). Each row carries a SHA-256 hash over its content
    and the previous row's hash, so ``manage.py verify_audit`` finds an altered or removed row.
    The actor and organisation are kept as plain values, not foreign keys, so that no cascade
    ever has to touch the trail.
    """

    seq = models.PositiveBigIntegerField(unique=True, help_text="Position in the hash chain.")
    occurred_at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_email = models.CharField(max_length=254, blank=True)
    organisation_code = models.CharField(max_length=12, blank=True, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    target = models.CharField(max_length=255, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-seq"]
        indexes = [models.Index(fields=["occurred_at"], name="audit_occurred_at")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_email or 'system'}"
