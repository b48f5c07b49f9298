"""The accounts pages in headless Chromium: signing in, the homes of each role, API tokens,
with a screenshot and an accessibility check of each page."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from accounts.choices import Role
from accounts.models import ApiToken, User
from reference.models import Organisation
from tests.accounts.factories import MembershipFactory
from tests.browser.conftest import sign_in


def test_sign_in_page_is_accessible(page: Page, check_page, sample_reference: None) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/sign-in/\?next=/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to the DIDS Portal")
    check_page(page, "sign-in")


def test_wrong_password_shows_the_error_summary(page: Page, check_page, submitter: User) -> None:
    sign_in(page, submitter, password="not the password")
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(summary.get_by_role("link")).to_have_text("Enter a correct email address and password.")
    expect(page).to_have_title(re.compile(r"^Error: Sign in"))
    check_page(page, "sign-in-error")
    # The summary's link takes the user to the field to correct.
    summary.get_by_role("link").click()
    expect(page.get_by_label("Email address")).to_be_focused()


def test_provider_submitter_creates_a_token_sees_it_once_and_revokes_it(
    page: Page, check_page, submitter: User
) -> None:
    sign_in(page, submitter)
    expect(page).to_have_url(re.compile(r"/provider/$"))
    organisation = Organisation.objects.get(code="RR8")
    expect(page.get_by_role("heading", level=1)).to_have_text(organisation.name)
    expect(page.get_by_test_id("active-organisation")).to_contain_text("(RR8)")
    menu = page.get_by_role("navigation", name="Menu")
    expect(menu.get_by_role("link")).to_have_text(["Home", "Submissions", "API tokens"])
    check_page(page, "provider-home")

    menu.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("API tokens")
    expect(page.get_by_text("This organisation has no API tokens yet.")).to_be_visible()
    check_page(page, "api-tokens-empty")

    page.get_by_role("button", name="Create an API token").click()
    check_page(page, "api-token-create")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Enter a name for the token")
    check_page(page, "api-token-create-error")
    page.get_by_label("Token name").fill("CRIS live feed")
    page.get_by_role("button", name="Create token").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("API token created")
    plaintext = page.get_by_test_id("token-plaintext").input_value()
    assert plaintext.startswith("dids_")
    token = ApiToken.objects.get(name="CRIS live feed")
    assert plaintext.startswith(f"dids_{token.prefix}_")
    check_page(page, "api-token-created")

    page.get_by_role("button", name="I have copied the token").click()
    row = page.get_by_test_id(f"token-{token.prefix}")
    expect(row).to_contain_text("CRIS live feed")
    expect(row).to_contain_text("Active")
    assert plaintext not in page.content()
    check_page(page, "api-tokens")

    row.get_by_role("link", name="Revoke CRIS live feed").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Revoke the token “CRIS live feed”?")
    check_page(page, "api-token-revoke")
    page.get_by_role("button", name="Revoke token").click()

    expect(page.locator(".nhsuk-notification-banner")).to_contain_text("has been revoked")
    expect(page.get_by_test_id(f"token-{token.prefix}")).to_contain_text("Revoked")
    token.refresh_from_db()
    assert token.revoked_at is not None
    check_page(page, "api-tokens-revoked")


def test_viewer_sees_the_tokens_without_the_buttons(
    page: Page, check_page, colleague: User, submitter: User
) -> None:
    from accounts.services import api_token_create

    api_token_create(actor=submitter, organisation_code="RR8", name="CRIS live feed")
    sign_in(page, colleague)
    page.goto("/provider/api-tokens/")
    expect(page.get_by_text("CRIS live feed")).to_be_visible()
    expect(page.get_by_role("button", name="Create an API token")).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("^Revoke"))).to_have_count(0)
    check_page(page, "api-tokens-viewer")


def test_analyst_lands_on_the_national_page(page: Page, check_page, analyst: User) -> None:
    sign_in(page, analyst)
    expect(page).to_have_url(re.compile(r"/national/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("National overview")
    menu = page.get_by_role("navigation", name="Menu")
    # Every national page; on narrow screens the design system moves some under "More".
    expect(menu.get_by_role("link", include_hidden=True)).to_have_text(
        ["Compliance", "Data quality", "Statistics", "Timetable", "Reopenings", "Cut-offs",
         "Extracts", "Audit"])
    check_page(page, "national-home")


def test_user_of_two_organisations_chooses_one_and_can_change_it(
    page: Page, check_page, submitter: User, other_org: Organisation
) -> None:
    MembershipFactory(user=submitter, role=Role.PROVIDER_VIEWER, organisation=other_org)
    sign_in(page, submitter)
    expect(page).to_have_url(re.compile(r"/organisation/\?next="))
    check_page(page, "choose-organisation")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Select the organisation")
    check_page(page, "choose-organisation-error")
    page.get_by_label(re.compile(r"\(RCD\)$")).check()
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/provider/$"))
    expect(page.get_by_test_id("active-organisation")).to_contain_text("(RCD)")

    page.get_by_role("link", name="Change organisation").click()
    page.get_by_label(re.compile(r"\(RR8\)$")).check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_test_id("active-organisation")).to_contain_text("(RR8)")


def test_change_password_page_is_accessible(page: Page, check_page, submitter: User) -> None:
    sign_in(page, submitter)
    page.get_by_role("link", name="Change password").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Change your password")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Enter your current password")
    check_page(page, "password-change-error")


def test_sign_out_returns_to_the_sign_in_page(page: Page, submitter: User) -> None:
    sign_in(page, submitter)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/sign-in/$"))
    expect(page.locator(".nhsuk-notification-banner")).to_contain_text("You have signed out.")


def test_not_found_page_is_accessible(page: Page, check_page, submitter: User) -> None:
    sign_in(page, submitter)
    response = page.goto("/no-such-page/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    check_page(page, "not-found")


def test_pages_work_without_javascript(page_without_javascript: Page, submitter: User) -> None:
    page = page_without_javascript
    sign_in(page, submitter)
    expect(page).to_have_url(re.compile(r"/provider/$"))
    page.goto("/provider/api-tokens/new/")
    page.get_by_label("Token name").fill("Without JavaScript")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("API token created")
    page.goto("/provider/api-tokens/")
    page.get_by_role("link", name="Revoke Without JavaScript").click()
    page.get_by_role("button", name="Revoke token").click()
    expect(page.locator(".nhsuk-notification-banner")).to_contain_text("has been revoked")
