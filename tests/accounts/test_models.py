import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.choices import Role
from accounts.models import ApiToken, Membership, User
from tests.accounts.factories import MembershipFactory, UserFactory
from tests.reference.factories import OrganisationFactory

pytestmark = pytest.mark.django_db


def test_create_user_stores_the_email_in_lower_case():
    user = User.objects.create_user("Jo.Bloggs@NHS.NET", "a long enough password")

    assert user.email == "jo.bloggs@nhs.net"
    assert user.check_password("a long enough password")


def test_create_user_without_an_email_is_refused():
    with pytest.raises(ValueError, match="email"):
        User.objects.create_user("", "a long enough password")


def test_create_superuser_is_staff_and_superuser():
    user = User.objects.create_superuser("root@example.nhs.uk", "a long enough password")

    assert user.is_staff
    assert user.is_superuser


def test_user_history_does_not_keep_the_password_hash():
    user = UserFactory()

    historical_fields = {f.name for f in user.history.model._meta.get_fields()}
    assert "password" not in historical_fields
    assert "email" in historical_fields


def test_provider_role_without_an_organisation_is_rejected_by_the_database():
    user = UserFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=user, role=Role.PROVIDER_SUBMITTER, organisation=None)


def test_provider_viewer_without_an_organisation_is_rejected_by_the_database():
    user = UserFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=user, role=Role.PROVIDER_VIEWER, organisation=None)


def test_national_role_needs_no_organisation():
    membership = MembershipFactory(role=Role.NATIONAL_ANALYST, organisation=None)

    assert membership.organisation_id is None
    assert str(membership).endswith("national")


def test_same_provider_role_twice_for_one_organisation_is_rejected():
    organisation = OrganisationFactory()
    membership = MembershipFactory(organisation=organisation)

    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(
            user=membership.user, organisation=organisation, role=Role.PROVIDER_SUBMITTER
        )


def test_same_provider_role_for_two_organisations_is_allowed():
    membership = MembershipFactory(organisation=OrganisationFactory())

    MembershipFactory(user=membership.user, organisation=OrganisationFactory())

    assert membership.user.memberships.count() == 2


def test_national_role_is_unique_per_user():
    membership = MembershipFactory(role=Role.REFERENCE_ADMIN, organisation=None)

    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=membership.user, role=Role.REFERENCE_ADMIN)


def _token(**fields):
    organisation = OrganisationFactory()
    return ApiToken.objects.create(
        name="RIS", organisation=organisation, user=UserFactory(), prefix="abcd1234",
        key_hash="0" * 64, **fields,
    )


def test_token_made_without_an_expiry_is_given_one_and_is_active():
    token = _token()
    assert token.expires_at > timezone.now() and token.is_active


def test_revoked_token_is_not_active():
    assert not _token(revoked_at=timezone.now()).is_active


def test_token_past_its_expiry_is_not_active():
    assert not _token(expires_at=timezone.now() - datetime.timedelta(seconds=1)).is_active


def test_token_before_its_expiry_is_active():
    assert _token(expires_at=timezone.now() + datetime.timedelta(days=1)).is_active


def test_token_history_does_not_track_last_use():
    token = _token()

    historical_fields = {f.name for f in token.history.model._meta.get_fields()}
    assert "last_used_at" not in historical_fields
