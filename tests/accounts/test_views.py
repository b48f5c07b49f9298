"""The accounts pages through Django's test client: signing in and out, password, the active
organisation, home pages and the API token pages with their permissions."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.choices import AuditAction, Role
from accounts.models import ApiToken, AuditEvent, User
from accounts.services import api_token_authenticate, api_token_create
from accounts.views import SESSION_ORGANISATION_KEY
from reference.models import Organisation
from tests.accounts.factories import MembershipFactory
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db



@pytest.fixture
def two_org_submitter(submitter: User, other_org: Organisation) -> User:
    MembershipFactory(user=submitter, role=Role.PROVIDER_SUBMITTER, organisation=other_org)
    return submitter


@pytest.fixture
def rr8_token(submitter: User) -> ApiToken:
    token, _ = api_token_create(actor=submitter, organisation_code="RR8", name="CRIS live")
    return token


# Signing in and out ---------------------------------------------------------------------------


def test_sign_in_page_has_labelled_email_and_password_fields(client: Client) -> None:
    response = client.get(reverse("accounts:sign-in"))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<label class="nhsuk-label" for="id_username">Email address</label>' in html
    assert '<label class="nhsuk-label" for="id_password">Password</label>' in html


def test_sign_in_with_correct_password_goes_to_the_home_of_the_role(
    client: Client, submitter: User
) -> None:
    response = client.post(
        reverse("accounts:sign-in"), {"username": submitter.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.url == reverse("accounts:home")
    assert client.get(response.url).url == reverse("accounts:provider-home")


def test_sign_in_with_wrong_password_shows_the_error_summary(
    client: Client, submitter: User
) -> None:
    response = client.post(
        reverse("accounts:sign-in"), {"username": submitter.email, "password": "wrong password"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "nhsuk-error-summary" in html
    assert '<a href="#id_username">Enter a correct email address and password.</a>' in html
    assert "<title>Error: Sign in" in html
    assert "_auth_user_id" not in client.session


def test_sign_in_with_empty_fields_links_each_error_to_its_field(client: Client, db: None) -> None:
    response = client.post(reverse("accounts:sign-in"), {"username": "", "password": ""})
    html = response.content.decode()
    assert '<a href="#id_username">Enter your email address</a>' in html
    assert '<a href="#id_password">Enter your password</a>' in html
    assert 'aria-describedby="id_username-error"' in html


def test_sign_in_goes_to_the_next_page_asked_for(client: Client, submitter: User) -> None:
    next_url = reverse("accounts:token-list")
    response = client.post(
        reverse("accounts:sign-in"),
        {"username": submitter.email, "password": PASSWORD, "next": next_url},
    )
    assert response.url == next_url


def test_sign_in_ignores_a_next_page_on_another_site(client: Client, submitter: User) -> None:
    response = client.post(
        reverse("accounts:sign-in"),
        {"username": submitter.email, "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response.url == reverse("accounts:home")


def test_signed_out_visitor_is_sent_to_sign_in(client: Client, db: None) -> None:
    response = client.get(reverse("accounts:provider-home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:sign-in") + "?next=")


def test_sign_out_is_a_post_that_ends_the_session(client_for, submitter: User) -> None:
    client = client_for(submitter)
    assert client.get(reverse("accounts:sign-out")).status_code == 405
    response = client.post(reverse("accounts:sign-out"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("accounts:sign-in")
    assert "You have signed out." in response.content.decode()
    assert "_auth_user_id" not in client.session


# Password ------------------------------------------------------------------------------------


def test_change_password_with_the_current_one_sets_the_new_one(client_for, submitter: User) -> None:
    client = client_for(submitter)
    new = "a much longer passphrase 2024"
    response = client.post(
        reverse("accounts:password-change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    submitter.refresh_from_db()
    assert submitter.check_password(new)
    # The session stays signed in after the change.
    assert client.get(reverse("accounts:provider-home")).status_code == 200


def test_change_password_with_a_wrong_current_one_shows_the_error(
    client_for, submitter: User
) -> None:
    client = client_for(submitter)
    response = client.post(
        reverse("accounts:password-change"),
        {"old_password": "not it", "new_password1": "x" * 20, "new_password2": "x" * 20},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'href="#id_old_password"' in html
    submitter.refresh_from_db()
    assert submitter.check_password(PASSWORD)


# The active organisation ---------------------------------------------------------------------


def test_user_of_one_organisation_works_for_it_without_choosing(
    client_for, submitter: User
) -> None:
    response = client_for(submitter).get(reverse("accounts:provider-home"))
    assert response.status_code == 200
    assert response.context["organisation"].code == "RR8"
    assert "Change<span" not in response.content.decode()


def test_user_of_several_organisations_is_asked_to_choose_first(
    client_for, two_org_submitter: User
) -> None:
    response = client_for(two_org_submitter).get(reverse("accounts:provider-home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:choose-organisation"))


def test_choosing_an_organisation_keeps_it_in_the_session(
    client_for, two_org_submitter: User
) -> None:
    client = client_for(two_org_submitter)
    response = client.post(
        reverse("accounts:choose-organisation"),
        {"organisation": "RCD", "next": reverse("accounts:token-list")},
    )
    assert response.url == reverse("accounts:token-list")
    assert client.session[SESSION_ORGANISATION_KEY] == "RCD"
    page = client.get(reverse("accounts:provider-home"))
    assert page.context["organisation"].code == "RCD"
    assert "Change<span" in page.content.decode()


def test_choosing_an_organisation_one_does_not_belong_to_is_refused(
    client_for, two_org_submitter: User, sample_reference: None
) -> None:
    code = Organisation.objects.exclude(code__in=["RR8", "RCD"]).values_list("code", flat=True)[0]
    client = client_for(two_org_submitter)
    response = client.post(reverse("accounts:choose-organisation"), {"organisation": code})
    assert response.status_code == 200
    assert "nhsuk-error-summary" in response.content.decode()
    assert SESSION_ORGANISATION_KEY not in client.session


def test_choose_organisation_page_is_404_for_national_users(client_for, analyst: User) -> None:
    assert client_for(analyst).get(reverse("accounts:choose-organisation")).status_code == 404


# Home pages ----------------------------------------------------------------------------------


def test_home_sends_a_national_analyst_to_the_national_page(client_for, analyst: User) -> None:
    response = client_for(analyst).get(reverse("accounts:home"))
    assert response.url == reverse("national:home")


def test_national_page_is_404_for_provider_users(client_for, submitter: User) -> None:
    assert client_for(submitter).get(reverse("national:home")).status_code == 404


def test_provider_home_is_404_for_national_users(client_for, analyst: User) -> None:
    assert client_for(analyst).get(reverse("accounts:provider-home")).status_code == 404


def test_navigation_follows_the_role(client_for, submitter: User, analyst: User) -> None:
    provider = client_for(submitter).get(reverse("accounts:provider-home")).context
    assert [i["text"] for i in provider["portal_navigation"]] == [
        "Home",
        "Submissions",
        "API tokens",
    ]
    national = client_for(analyst).get(reverse("national:home")).context
    assert [i["text"] for i in national["portal_navigation"]] == [
        "Compliance",
        "Data quality",
        "Statistics",
        "Timetable",
        "Reopenings",
        "Cut-offs",
        "Extracts",
        "Audit",
    ]


def test_a_provider_viewer_is_not_offered_api_tokens(client_for, colleague: User) -> None:
    # A token sends files, and only a submitter may make one.
    context = client_for(colleague).get(reverse("accounts:provider-home")).context
    assert [i["text"] for i in context["portal_navigation"]] == ["Home", "Submissions"]


def test_reference_admin_sees_the_admin_link(client_for, reference_admin: User) -> None:
    response = client_for(reference_admin).get(reverse("accounts:password-change"))
    assert [i["text"] for i in response.context["portal_navigation"]] == ["Admin"]


# API tokens ----------------------------------------------------------------------------------


def test_submitter_sees_the_tokens_of_the_organisation(
    client_for, submitter: User, rr8_token: ApiToken
) -> None:
    response = client_for(submitter).get(reverse("accounts:token-list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "CRIS live" in html
    assert f"dids_{rr8_token.prefix}_" in html
    assert "Create an API token" in html


def test_creating_a_token_shows_its_plaintext_once(client_for, submitter: User) -> None:
    client = client_for(submitter)
    response = client.post(reverse("accounts:token-create"), {"name": "Sectra RIS"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    plaintext = response.context["plaintext"]
    assert plaintext in response.content.decode()
    token = ApiToken.objects.get(name="Sectra RIS")
    assert token.organisation_id == "RR8"
    assert api_token_authenticate(plaintext) == token
    assert plaintext not in client.get(reverse("accounts:token-list")).content.decode()


def test_creating_a_token_audits_the_address_it_came_from(client_for, submitter: User) -> None:
    client_for(submitter).post(reverse("accounts:token-create"), {"name": "Sectra RIS"},
                               REMOTE_ADDR="192.0.2.51")
    event = AuditEvent.objects.get(action=AuditAction.API_TOKEN_CREATED)
    assert event.ip_address == "192.0.2.51"


def test_revoking_a_token_audits_the_address_it_came_from(client_for, submitter: User,
                                                         rr8_token: ApiToken) -> None:
    client_for(submitter).post(reverse("accounts:token-revoke", args=[rr8_token.pk]),
                               REMOTE_ADDR="192.0.2.52")
    event = AuditEvent.objects.get(action=AuditAction.API_TOKEN_REVOKED)
    assert event.ip_address == "192.0.2.52"


def test_creating_a_token_without_a_name_shows_the_error(client_for, submitter: User) -> None:
    response = client_for(submitter).post(reverse("accounts:token-create"), {"name": ""})
    html = response.content.decode()
    assert '<a href="#id_name">Enter a name for the token</a>' in html
    assert not ApiToken.objects.exists()


def test_revoking_a_token_asks_then_revokes(
    client_for, submitter: User, rr8_token: ApiToken
) -> None:
    client = client_for(submitter)
    url = reverse("accounts:token-revoke", args=[rr8_token.pk])
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "Revoke the token “CRIS live”?" in confirm.content.decode()
    rr8_token.refresh_from_db()
    assert rr8_token.revoked_at is None
    response = client.post(url, follow=True)
    rr8_token.refresh_from_db()
    assert rr8_token.revoked_at is not None
    assert "has been revoked" in response.content.decode()


def test_viewer_sees_the_tokens_read_only(client_for, colleague: User, rr8_token: ApiToken) -> None:
    response = client_for(colleague).get(reverse("accounts:token-list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "CRIS live" in html
    assert reverse("accounts:token-create") not in html
    assert reverse("accounts:token-revoke", args=[rr8_token.pk]) not in html


def test_viewer_cannot_create_a_token(client_for, colleague: User) -> None:
    client = client_for(colleague)
    assert client.get(reverse("accounts:token-create")).status_code == 403
    assert client.post(reverse("accounts:token-create"), {"name": "x"}).status_code == 403
    assert not ApiToken.objects.exists()


def test_viewer_cannot_revoke_a_token(client_for, colleague: User, rr8_token: ApiToken) -> None:
    url = reverse("accounts:token-revoke", args=[rr8_token.pk])
    assert client_for(colleague).post(url).status_code == 403
    rr8_token.refresh_from_db()
    assert rr8_token.revoked_at is None


def test_other_provider_gets_404_on_a_token_of_another_organisation(
    client_for, other_provider_user: User, rr8_token: ApiToken
) -> None:
    client = client_for(other_provider_user)
    url = reverse("accounts:token-revoke", args=[rr8_token.pk])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    rr8_token.refresh_from_db()
    assert rr8_token.revoked_at is None
    assert "CRIS live" not in client.get(reverse("accounts:token-list")).content.decode()


def test_national_analyst_gets_404_on_the_token_pages(client_for, analyst: User) -> None:
    client = client_for(analyst)
    assert client.get(reverse("accounts:token-list")).status_code == 404
    assert client.get(reverse("accounts:token-create")).status_code == 404


def test_token_list_query_count_does_not_grow_with_tokens(
    client_for, submitter: User, django_assert_max_num_queries
) -> None:
    client = client_for(submitter)
    for n in range(5):
        api_token_create(actor=submitter, organisation_code="RR8", name=f"RIS {n}")
    with django_assert_max_num_queries(8):
        assert client.get(reverse("accounts:token-list")).status_code == 200


# Pages without the design system build, and error pages ----------------------------------------


def test_pages_use_the_fallback_style_sheet_when_the_design_system_is_not_built(
    client: Client, db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from accounts import context_processors

    monkeypatch.setattr(context_processors, "_design_system_built", lambda: False)
    html = client.get(reverse("accounts:sign-in")).content.decode()
    assert "css/fallback.css" in html
    assert "vendor/nhsuk" not in html


def test_unknown_page_shows_the_portal_404(client: Client, db: None) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
