"""API tokens expire, say so when refused, and a token stopped by a lost role stays stopped."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.choices import AuditAction, Role
from accounts.models import ApiToken, AuditEvent, Membership, User
from accounts.services import api_token_authenticate, api_token_create, membership_grant
from dids_portal.lib.errors import DomainError

pytestmark = pytest.mark.django_db

URL = "/api/organisations/"


def _token(user: User) -> tuple[ApiToken, str]:
    return api_token_create(actor=user, organisation_code="RR8", name="Leeds RIS")


def _get(plaintext: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {plaintext}")
    return client.get(URL)


def test_a_token_expires_the_configured_number_of_days_after_it_is_made(submitter, settings):
    settings.DIDS_TOKEN_DAYS = 30
    token, _ = _token(submitter)
    expected = timezone.now() + timedelta(days=30)
    assert abs((token.expires_at - expected).total_seconds()) < 60


def test_a_token_expires_after_a_year_by_default(submitter):
    token, _ = _token(submitter)
    assert timedelta(days=364) < token.expires_at - timezone.now() <= timedelta(days=365)


def test_a_token_cannot_be_made_to_outlast_the_configured_days(submitter):
    with pytest.raises(DomainError, match="at most 365 days"):
        api_token_create(actor=submitter, organisation_code="RR8", name="RIS",
                         expires_at=timezone.now() + timedelta(days=400))


def test_an_expired_token_gets_401_saying_when_it_expired(submitter):
    token, plaintext = _token(submitter)
    with time_machine.travel(token.expires_at + timedelta(minutes=1), tick=False):
        response = _get(plaintext)
    assert response.status_code == 401
    message = response.json()["error"]["message"]
    assert message.startswith("The API token expired on ")
    assert f"{timezone.localtime(token.expires_at):%d %B %Y}" in message


def test_a_token_works_until_it_expires(submitter):
    token, plaintext = _token(submitter)
    with time_machine.travel(token.expires_at - timedelta(minutes=1), tick=False):
        assert _get(plaintext).status_code == 200


def test_a_token_stopped_by_a_lost_role_stays_revoked_when_the_role_comes_back(submitter):
    token, plaintext = _token(submitter)
    Membership.objects.filter(user=submitter, role=Role.PROVIDER_SUBMITTER).delete()
    assert _get(plaintext).status_code == 401
    membership_grant(actor=None, user=submitter, role=Role.PROVIDER_SUBMITTER,
                     organisation_code="RR8", reason="Back from leave")
    response = _get(plaintext)
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_losing_the_submitter_role_in_the_admin_revokes_the_token_for_good(client: Client,
                                                                          submitter):
    token, plaintext = _token(submitter)
    admin_user = User.objects.create_superuser("root@england.example.nhs.uk", "x" * 16)
    client.force_login(admin_user)
    membership = submitter.memberships.get()
    response = client.post(f"/admin/accounts/user/{submitter.pk}/change/", {
        "email": submitter.email, "full_name": submitter.full_name, "is_active": "on",
        "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "1",
        "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-id": str(membership.pk), "memberships-0-user": str(submitter.pk),
        "memberships-0-role": Role.PROVIDER_VIEWER, "memberships-0-organisation": "RR8",
    }, REMOTE_ADDR="192.0.2.61")
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    event = AuditEvent.objects.get(action=AuditAction.API_TOKEN_REVOKED)
    assert event.ip_address == "192.0.2.61" and event.actor_id == admin_user.pk
    # Given the role back, the token still does not work.
    membership_grant(actor=None, user=submitter, role=Role.PROVIDER_SUBMITTER,
                     organisation_code="RR8", reason="Back again")
    assert api_token_authenticate(plaintext) is None


def test_the_token_list_shows_when_each_token_expires(client: Client, submitter):
    token, _ = _token(submitter)
    client.force_login(submitter)
    html = client.get(reverse("accounts:token-list")).content.decode()
    cell = html.split(f'data-testid="expires-{token.prefix}">', 1)[1].split("</td>", 1)[0]
    assert cell == f"{timezone.localtime(token.expires_at):%-d %B %Y, %H:%M}"
