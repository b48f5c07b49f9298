import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.choices import AuditAction, Role
from accounts.models import ApiToken, AuditEvent, Membership
from accounts.services import (
    TOKEN_PREFIX,
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
    hash_token,
    membership_change,
    membership_grant,
    membership_revoke,
)
from dids_portal.lib.errors import DomainError
from tests.accounts.factories import UserFactory


@pytest.fixture
def token_and_plaintext(submitter):
    return api_token_create(actor=submitter, organisation_code="RR8", name="Leeds RIS")


# Memberships


def test_membership_grant_creates_the_membership_with_who_and_why(rr8, reference_admin):
    user = UserFactory()

    membership = membership_grant(actor=reference_admin, user=user, role=Role.PROVIDER_VIEWER,
                                  organisation_code="RR8", reason="Joined the PACS team")

    record = membership.history.get()
    assert (membership.organisation_id, membership.role) == ("RR8", Role.PROVIDER_VIEWER)
    assert record.history_user == reference_admin
    assert record.history_change_reason == "Joined the PACS team"


def test_membership_grant_ignores_the_organisation_for_national_roles(rr8):
    membership = membership_grant(actor=None, user=UserFactory(), role=Role.NATIONAL_ANALYST,
                                  organisation_code="RR8", reason="Analyst")

    assert membership.organisation_id is None


def test_membership_grant_twice_keeps_one_membership_and_one_history_row(rr8):
    user = UserFactory()
    for _ in range(2):
        membership_grant(actor=None, user=user, role=Role.PROVIDER_SUBMITTER,
                         organisation_code="RR8", reason="Set up")

    assert Membership.objects.filter(user=user).count() == 1
    assert Membership.history.filter(user=user).count() == 1


def test_membership_grant_refuses_a_provider_role_without_an_organisation(sample_reference):
    user = UserFactory()

    with pytest.raises(ValidationError):
        membership_grant(actor=None, user=user, role=Role.PROVIDER_SUBMITTER,
                         organisation_code=None, reason="Set up")

    assert not Membership.objects.filter(user=user).exists()


def test_membership_revoke_removes_the_role_with_who_and_why_and_audits_it(
        submitter, reference_admin):
    membership = submitter.memberships.get()

    membership_revoke(actor=reference_admin, membership=membership, reason="Left the trust")

    assert not Membership.objects.filter(user=submitter).exists()
    record = Membership.history.filter(user=submitter).latest("history_date")
    assert (record.history_type, record.history_user) == ("-", reference_admin)
    assert record.history_change_reason == "Left the trust"
    event = AuditEvent.objects.get(action=AuditAction.ROLE_REVOKED)
    assert (event.actor_id, event.organisation_code) == (reference_admin.pk, "RR8")
    assert event.before["role"] == Role.PROVIDER_SUBMITTER
    assert event.after == {"reason": "Left the trust"}


def test_membership_revoke_stops_the_tokens_of_a_user_who_can_no_longer_submit(
        submitter, token_and_plaintext):
    token, _ = token_and_plaintext

    membership_revoke(actor=None, membership=submitter.memberships.get(), reason="Left")

    token.refresh_from_db()
    assert token.revoked_at is not None


def test_membership_change_audits_the_role_before_and_after_and_stops_tokens(
        submitter, reference_admin, token_and_plaintext):
    token, _ = token_and_plaintext
    membership = submitter.memberships.get()

    membership_change(actor=reference_admin, membership=membership, role=Role.PROVIDER_VIEWER,
                      organisation_code="RR8", reason="Read only now")

    assert submitter.memberships.get().role == Role.PROVIDER_VIEWER
    event = AuditEvent.objects.get(action=AuditAction.ROLE_CHANGED)
    assert event.before["role"] == Role.PROVIDER_SUBMITTER
    assert event.after["role"] == Role.PROVIDER_VIEWER
    token.refresh_from_db()
    assert token.revoked_at is not None


# Creating tokens


def test_token_plaintext_is_returned_once_and_only_its_hash_is_stored(token_and_plaintext):
    token, plaintext = token_and_plaintext

    stored = ApiToken.objects.get(pk=token.pk)
    assert plaintext.startswith(f"{TOKEN_PREFIX}{stored.prefix}_")
    assert stored.key_hash == hash_token(plaintext)
    assert all(plaintext not in str(getattr(stored, f.attname)) for f in ApiToken._meta.fields)


def test_two_tokens_never_share_a_plaintext_or_prefix(submitter):
    first, first_plaintext = api_token_create(actor=submitter, organisation_code="RR8", name="A")
    second, second_plaintext = api_token_create(actor=submitter, organisation_code="RR8", name="B")

    assert first_plaintext != second_plaintext
    assert first.prefix != second.prefix


def test_token_belongs_to_the_organisation_and_user_that_created_it(submitter, token_and_plaintext):
    token, _ = token_and_plaintext

    assert token.organisation_id == "RR8"
    assert token.user == submitter


def test_token_creation_is_recorded_in_history_with_the_creator(submitter, token_and_plaintext):
    token, _ = token_and_plaintext

    record = token.history.get()
    assert record.history_user == submitter
    assert record.history_change_reason == "API token 'Leeds RIS' created"


def test_provider_viewer_cannot_create_a_token(colleague):
    with pytest.raises(DomainError) as excinfo:
        api_token_create(actor=colleague, organisation_code="RR8", name="RIS")

    assert excinfo.value.status_code == 403
    assert not ApiToken.objects.exists()


def test_submitter_cannot_create_a_token_for_another_organisation(submitter, other_org):
    with pytest.raises(DomainError) as excinfo:
        api_token_create(actor=submitter, organisation_code="RCD", name="RIS")

    assert excinfo.value.code == "permission_denied"


def test_national_analyst_cannot_create_a_provider_token(analyst):
    with pytest.raises(DomainError):
        api_token_create(actor=analyst, organisation_code="RR8", name="RIS")


def test_token_needs_a_name(submitter):
    with pytest.raises(DomainError) as excinfo:
        api_token_create(actor=submitter, organisation_code="RR8", name="   ")

    assert excinfo.value.code == "invalid"


# Revoking tokens


def test_revoking_a_token_sets_its_revocation_time_and_records_who(submitter, token_and_plaintext):
    token, _ = token_and_plaintext

    api_token_revoke(actor=submitter, token=token)

    token.refresh_from_db()
    latest = token.history.first()
    assert token.revoked_at is not None
    assert latest.history_user == submitter
    assert latest.history_change_reason == "API token revoked"


def test_revoking_twice_keeps_the_first_revocation_time(submitter, token_and_plaintext):
    token, _ = token_and_plaintext
    first = api_token_revoke(actor=submitter, token=token).revoked_at

    second = api_token_revoke(actor=submitter, token=token).revoked_at

    assert second == first
    assert token.history.count() == 2


def test_user_of_another_provider_cannot_revoke_the_token(other_provider_user, token_and_plaintext):
    token, _ = token_and_plaintext

    with pytest.raises(DomainError):
        api_token_revoke(actor=other_provider_user, token=token)

    token.refresh_from_db()
    assert token.revoked_at is None


# Authenticating with tokens


def test_valid_token_authenticates(token_and_plaintext):
    token, plaintext = token_and_plaintext

    assert api_token_authenticate(plaintext) == token


def test_authenticating_records_when_the_token_was_last_used(token_and_plaintext):
    token, plaintext = token_and_plaintext

    api_token_authenticate(plaintext)

    token.refresh_from_db()
    assert token.last_used_at is not None


def test_token_with_a_wrong_secret_is_rejected(token_and_plaintext):
    _, plaintext = token_and_plaintext

    assert api_token_authenticate(plaintext[:-2] + "xx") is None


def test_token_with_an_unknown_prefix_is_rejected(token_and_plaintext):
    assert api_token_authenticate(f"{TOKEN_PREFIX}00000000_secret") is None


def test_token_without_the_dids_prefix_is_rejected(token_and_plaintext):
    _, plaintext = token_and_plaintext

    assert api_token_authenticate(plaintext[len(TOKEN_PREFIX):]) is None


def test_token_without_a_secret_part_is_rejected(token_and_plaintext):
    token, _ = token_and_plaintext

    assert api_token_authenticate(f"{TOKEN_PREFIX}{token.prefix}") is None


def test_revoked_token_is_rejected(submitter, token_and_plaintext):
    token, plaintext = token_and_plaintext
    api_token_revoke(actor=submitter, token=token)

    assert api_token_authenticate(plaintext) is None


def test_expired_token_is_rejected(submitter):
    _, plaintext = api_token_create(
        actor=submitter, organisation_code="RR8", name="RIS",
        expires_at=timezone.now() - datetime.timedelta(minutes=1),
    )

    assert api_token_authenticate(plaintext) is None


def test_token_of_a_deactivated_user_is_rejected(submitter, token_and_plaintext):
    _, plaintext = token_and_plaintext
    submitter.is_active = False
    submitter.save()

    assert api_token_authenticate(plaintext) is None


def test_token_stops_working_when_its_user_loses_the_submitter_membership(
    submitter, token_and_plaintext
):
    _, plaintext = token_and_plaintext

    Membership.objects.filter(user=submitter, role=Role.PROVIDER_SUBMITTER).delete()

    assert api_token_authenticate(plaintext) is None


def test_token_stops_working_when_its_user_is_only_a_viewer_of_the_organisation(
    submitter, token_and_plaintext
):
    _, plaintext = token_and_plaintext

    Membership.objects.filter(user=submitter).update(role=Role.PROVIDER_VIEWER)

    assert api_token_authenticate(plaintext) is None


def test_token_stops_working_when_its_user_moves_to_another_organisation(
    submitter, other_org, token_and_plaintext
):
    _, plaintext = token_and_plaintext
    Membership.objects.filter(user=submitter).delete()
    membership_grant(actor=None, user=submitter, role=Role.PROVIDER_SUBMITTER,
                     organisation_code="RCD", reason="Moved trust")

    assert api_token_authenticate(plaintext) is None
